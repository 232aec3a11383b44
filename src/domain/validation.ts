import AjvModule, { type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { type FieldError, HeraldError, escapePointer } from './errors.js';

// ajv and ajv-formats are CommonJS with a default export.
const Ajv = AjvModule as unknown as typeof AjvModule.default;
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

/** Request bodies are validated strictly: no coercion, no defaults, no removal. */
export function createBodyAjv() {
  const ajv = new Ajv({ allErrors: true, verbose: true, strict: false, coerceTypes: false, useDefaults: false });
  addFormats(ajv);
  return ajv;
}

/** Query strings and path parameters arrive as text and are coerced. */
export function createParamsAjv() {
  const ajv = new Ajv({ allErrors: true, verbose: true, strict: false, coerceTypes: true, useDefaults: true });
  addFormats(ajv);
  return ajv;
}

const bodyAjv = createBodyAjv();

export function compile(schema: object): ValidateFunction {
  return bodyAjv.compile(schema);
}

/** Validates and throws a 400 with every problem found, pointers under `base`. */
export function check(validate: ValidateFunction, value: unknown, base = ''): void {
  if (validate(value)) return;
  throw new HeraldError(400, toFieldErrors(validate.errors ?? [], base));
}

function pythonType(value: unknown): string {
  if (value === null) return 'NoneType';
  if (Array.isArray(value)) return 'list';
  if (typeof value === 'string') return 'str';
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'number') return Number.isInteger(value) ? 'int' : 'float';
  return 'dict';
}

function typeError(expected: string, data: unknown): FieldError {
  if (data === null) return { code: 'null', detail: 'This field may not be null.' };
  switch (expected) {
    case 'string':
      return { code: 'invalid', detail: 'Not a valid string.' };
    case 'integer':
      return { code: 'invalid', detail: 'A valid integer is required.' };
    case 'number':
      return { code: 'invalid', detail: 'A valid number is required.' };
    case 'boolean':
      return { code: 'invalid', detail: 'Must be a valid boolean.' };
    case 'array':
      return { code: 'not_a_list', detail: `Expected a list of items but got type "${pythonType(data)}".` };
    case 'object':
      return { code: 'invalid', detail: `Expected a dictionary of items but got type "${pythonType(data)}".` };
    default:
      return { code: 'invalid', detail: 'Invalid value.' };
  }
}

function describe(error: ErrorObject): FieldError {
  const params = error.params as Record<string, unknown>;
  const custom = (error.parentSchema as Record<string, unknown> | undefined)?.['x-error'];
  if (typeof custom === 'string' && error.keyword !== 'required' && error.keyword !== 'type') {
    return { code: 'invalid', detail: custom };
  }
  switch (error.keyword) {
    case 'required':
      return { code: 'required', detail: 'This field is required.' };
    case 'additionalProperties':
      return { code: 'unknown_field', detail: 'Unknown field.' };
    case 'type': {
      const expected = Array.isArray(params.type) ? String(params.type[0]) : String(params.type);
      return typeError(expected.split(',')[0] as string, error.data);
    }
    case 'enum':
    case 'const':
      return { code: 'invalid_choice', detail: `"${String(error.data)}" is not a valid choice.` };
    case 'minimum':
      return { code: 'min_value', detail: `Ensure this value is greater than or equal to ${params.limit}.` };
    case 'maximum':
      return { code: 'invalid', detail: `Ensure this value is less than or equal to ${params.limit}.` };
    case 'minLength':
      return params.limit === 1
        ? { code: 'invalid', detail: 'This field may not be blank.' }
        : { code: 'invalid', detail: `Ensure this field has at least ${params.limit} characters.` };
    case 'maxLength':
      return { code: 'invalid', detail: `Ensure this field has no more than ${params.limit} characters.` };
    case 'minItems':
      return params.limit === 1
        ? { code: 'invalid', detail: 'This list may not be empty.' }
        : { code: 'invalid', detail: `Ensure this list has at least ${params.limit} elements.` };
    case 'maxItems':
      return { code: 'invalid', detail: `Ensure this list has no more than ${params.limit} elements.` };
    case 'format':
      if (params.format === 'date-time') {
        return { code: 'invalid', detail: 'Datetime has wrong format. Use ISO 8601, e.g. 2026-01-15T10:30:00Z.' };
      }
      if (params.format === 'uri') return { code: 'invalid', detail: 'Enter a valid URL.' };
      return { code: 'invalid', detail: `Enter a valid ${String(params.format)}.` };
    default:
      return { code: 'invalid', detail: 'Invalid value.' };
  }
}

/**
 * Ajv errors as Django-REST-style field errors (the reference API's wording), one per
 * field. A failed anyOf/oneOf becomes one `invalid` error instead of every branch's.
 */
export function toFieldErrors(errors: readonly ErrorObject[], base = ''): FieldError[] {
  const unions = errors.filter((e) => e.keyword === 'anyOf' || e.keyword === 'oneOf').map((e) => e.schemaPath);
  const seen = new Set<string>();
  const out: FieldError[] = [];
  for (const error of errors) {
    if (unions.some((p) => error.schemaPath.startsWith(`${p}/`))) continue;
    const params = error.params as Record<string, unknown>;
    let pointer = error.instancePath;
    if (error.keyword === 'required') pointer += `/${escapePointer(String(params.missingProperty))}`;
    if (error.keyword === 'additionalProperties') pointer += `/${escapePointer(String(params.additionalProperty))}`;
    pointer = base + pointer;
    if (seen.has(pointer)) continue;
    seen.add(pointer);
    out.push({ ...describe(error), pointer });
  }
  return out;
}
