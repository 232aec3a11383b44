import type { FastifyInstance } from 'fastify';
import { type FieldError, HeraldError, escapePointer } from '../domain/errors.js';
import { createBodyAjv, createParamsAjv } from '../domain/validation.js';

/**
 * How deep a request body may nest. Bodies are stringified and hashed recursively (stored
 * payloads, idempotency hashes): a 1 MiB body can nest ~500,000 levels and overflow the stack.
 */
export const MAX_BODY_DEPTH = 64;

const NUL_DETAIL = 'Null characters are not allowed.';

/**
 * The body's problems that no schema states: strings (values or keys) holding U+0000, and
 * nesting past MAX_BODY_DEPTH (reported once, at the first value too deep). Iterative, as
 * a body can nest deeply.
 */
function bodyProblems(body: unknown): FieldError[] {
  const nul: string[] = [];
  let tooDeep: string | undefined;
  const stack: Array<[unknown, string, number]> = [[body, '', 0]];
  while (stack.length > 0) {
    const [value, pointer, depth] = stack.pop() as [unknown, string, number];
    if (typeof value === 'string') {
      if (value.includes('\u0000')) nul.push(pointer);
    } else if (value !== null && typeof value === 'object') {
      if (depth >= MAX_BODY_DEPTH) {
        if (tooDeep === undefined || pointer < tooDeep) tooDeep = pointer;
        continue;
      }
      for (const [key, child] of Object.entries(value)) {
        const at = `${pointer}/${escapePointer(key)}`;
        if (key.includes('\u0000')) nul.push(at);
        else stack.push([child, at, depth + 1]);
      }
    }
  }
  const errors: FieldError[] = nul.sort().map((pointer) => ({ code: 'invalid', detail: NUL_DETAIL, pointer }));
  if (tooDeep !== undefined) {
    errors.push({ code: 'invalid', detail: `The body nests deeper than ${MAX_BODY_DEPTH} levels.`, pointer: tooDeep });
  }
  return errors;
}

/** Bodies strictly (no coercion, unknown fields reported); query and path text coerced. */
export function registerValidators(app: FastifyInstance): void {
  const body = createBodyAjv();
  const params = createParamsAjv();
  app.setValidatorCompiler(({ schema, httpPart }) =>
    httpPart === 'body' ? body.compile(schema as object) : params.compile(schema as object),
  );
  // A write without a body is validated as `{}`, so each required field is reported by name.
  app.addHook('preValidation', async (request) => {
    if (request.body === undefined && ['POST', 'PATCH', 'PUT'].includes(request.method)) {
      request.body = {};
    }
  });
  // No field of the API means a NUL, and PostgreSQL text cannot hold one (a 500 there, stored
  // on SQLite): refused everywhere alike, with the reference API's (Django REST's) wording.
  // Public routes keep their own answers (the OAuth callback's page; the token endpoint
  // reads two form fields and checks the key's shape itself).
  app.addHook('preValidation', async (request) => {
    if (request.routeOptions.config?.public) return;
    const errors: FieldError[] = [];
    for (const [name, value] of Object.entries((request.query ?? {}) as Record<string, unknown>)) {
      if (name.includes('\u0000') || [value].flat().some((v) => typeof v === 'string' && v.includes('\u0000'))) {
        errors.push({ code: 'invalid', detail: NUL_DETAIL, parameter: name });
      }
    }
    errors.push(...bodyProblems(request.body));
    if (errors.length > 0) throw new HeraldError(400, errors);
  });
}
