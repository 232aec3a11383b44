/**
 * JSON schema → fast-check arbitraries: `valid` builds values a schema accepts, `hostile`
 * builds values that break it somewhere (a wrong type, a missing required field, an unknown
 * field, a value out of range, a huge or strange string), at the top or deep inside.
 *
 * Covers what Herald's OpenAPI document uses: object (properties, required,
 * additionalProperties, minProperties, propertyNames), array (items, minItems, maxItems),
 * string (enum, const, pattern, minLength, maxLength, format date-time/uri), integer, number,
 * boolean, null, type lists and `nullable`, oneOf/anyOf/allOf and local `$ref`s.
 */
import fc from 'fast-check';

export type Schema = Record<string, any>;

/** A reference to an existing resource, resolved when the request is sent (ids change). */
export class Ref {
  constructor(
    readonly pool: string,
    readonly pick: number,
  ) {}
  toJSON(): string {
    return `<${this.pool}#${this.pick}>`;
  }
}

/**
 * Arrays nested `depth` levels deep. Written into the JSON text when sent (see `toJson`), so
 * that no code of the test recurses that deep.
 */
export class Deep {
  constructor(readonly depth: number) {}
  toJSON(): string {
    return `\u0001deep:${this.depth}\u0001`;
  }
}

/** JSON text of a generated value, with each Deep expanded. */
export function toJson(value: unknown): string {
  return JSON.stringify(value).replace(/"\\u0001deep:(\d+)\\u0001"/g, (_m, n: string) => '['.repeat(Number(n)) + ']'.repeat(Number(n)));
}

export interface GenOptions {
  /** Resolves `{"$ref": "#/…"}` in the document the schemas come from. */
  root: Schema;
  /** Valid values of `format: uri` (URLs of a local receiver: nothing leaves the machine). */
  uri: fc.Arbitrary<string>;
  /** The pool of existing resources a field of this name refers to (`connection_id` → connections). */
  poolOf(name: string): string | undefined;
}

/** Arrays are kept short: the point is their shape, not their size (hostile builds long ones). */
const MAX_ARRAY = 3;
const MAX_STRING = 40;

export function deref(schema: Schema, root: Schema): Schema {
  let s = schema;
  for (let i = 0; i < 20 && typeof s?.$ref === 'string'; i++) {
    const ref = s.$ref as string;
    if (!ref.startsWith('#/')) throw new Error(`only local $refs are supported: ${ref}`);
    s = ref
      .slice(2)
      .split('/')
      .reduce<Schema>((node, part) => node?.[part.replace(/~1/g, '/').replace(/~0/g, '~')], root);
    if (s === undefined) throw new Error(`unresolved $ref ${ref}`);
  }
  return s;
}

function typesOf(schema: Schema): string[] {
  // OpenAPI 3.0's `nullable: true` is 3.1's `type: [T, 'null']`.
  const orNull = (types: string[]) => (schema.nullable === true && !types.includes('null') ? [...types, 'null'] : types);
  if (Array.isArray(schema.type)) return orNull(schema.type);
  if (typeof schema.type === 'string') return orNull([schema.type]);
  if (schema.properties || schema.additionalProperties !== undefined || schema.required) return ['object'];
  if (schema.items) return ['array'];
  return [];
}

/** Text of every kind: printable ASCII most of the time, any code point too (emoji, RTL, NUL, …). */
export const text = (constraints: { minLength?: number; maxLength?: number } = {}) =>
  fc.string({
    unit: fc.oneof({ weight: 4, arbitrary: fc.string({ minLength: 1, maxLength: 1 }) }, { weight: 1, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) }),
    minLength: constraints.minLength ?? 0,
    maxLength: constraints.maxLength ?? MAX_STRING,
  });

const isoDate = fc
  .date({ min: new Date('1970-01-01T00:00:00Z'), max: new Date('2100-01-01T00:00:00Z'), noInvalidDate: true })
  .chain((d) =>
    fc.constantFrom(d.toISOString(), d.toISOString().replace(/\.\d{3}Z$/, 'Z'), d.toISOString().replace('Z', '+00:00')),
  );

function stringArb(schema: Schema, opts: GenOptions): fc.Arbitrary<string> {
  if (schema.format === 'date-time') return isoDate;
  if (schema.format === 'uri') return opts.uri;
  if (typeof schema.pattern === 'string') return fc.stringMatching(new RegExp(schema.pattern));
  const minLength = schema.minLength ?? 0;
  return text({ minLength, maxLength: Math.max(minLength, Math.min(schema.maxLength ?? MAX_STRING, MAX_STRING)) });
}

function integerArb(schema: Schema): fc.Arbitrary<number> {
  const min = schema.minimum ?? (schema.exclusiveMinimum !== undefined ? schema.exclusiveMinimum + 1 : Number.MIN_SAFE_INTEGER);
  const max = schema.maximum ?? (schema.exclusiveMaximum !== undefined ? schema.exclusiveMaximum - 1 : Number.MAX_SAFE_INTEGER);
  return fc.integer({ min: Math.max(min, Number.MIN_SAFE_INTEGER), max: Math.min(max, Number.MAX_SAFE_INTEGER) });
}

function objectArb(schema: Schema, opts: GenOptions): fc.Arbitrary<Record<string, unknown>> {
  const properties: Record<string, Schema> = schema.properties ?? {};
  const required: string[] = schema.required ?? [];
  const model: Record<string, fc.Arbitrary<unknown>> = {};
  for (const [name, sub] of Object.entries(properties)) model[name] = valid(sub, opts, name);
  for (const name of required) model[name] ??= fc.jsonValue({ maxDepth: 1 });
  let arb: fc.Arbitrary<Record<string, unknown>> = fc.record(model, { requiredKeys: required }) as fc.Arbitrary<Record<string, unknown>>;
  const extra = schema.additionalProperties;
  const freeForm = extra === undefined || extra === true;
  if ((typeof extra === 'object' && extra !== null) || (freeForm && Object.keys(properties).length === 0)) {
    const keys = schema.propertyNames?.pattern ? fc.stringMatching(new RegExp(schema.propertyNames.pattern)) : text({ minLength: 1, maxLength: 12 });
    const values = typeof extra === 'object' ? valid(extra, opts) : fc.jsonValue({ maxDepth: 2 });
    const known = new Set(Object.keys(properties));
    arb = fc
      .tuple(arb, fc.dictionary(keys.filter((k) => !known.has(k) && k !== '__proto__'), values, { maxKeys: 3 }))
      .map(([fixed, more]) => ({ ...more, ...fixed }));
  }
  const minProperties = schema.minProperties ?? 0;
  if (minProperties > 0) arb = arb.filter((o) => Object.keys(o).length >= minProperties);
  return arb;
}

/** Values the schema accepts. `name` is the property the value is for (ids refer to pools). */
export function valid(schemaIn: Schema, opts: GenOptions, name?: string): fc.Arbitrary<unknown> {
  const schema = deref(schemaIn, opts.root);
  if ('const' in schema) return fc.constant(schema.const);
  if (Array.isArray(schema.enum)) return fc.constantFrom(...schema.enum);
  if (Array.isArray(schema.oneOf)) return fc.oneof(...schema.oneOf.map((s: Schema) => valid(s, opts, name)));
  if (Array.isArray(schema.anyOf)) return fc.oneof(...schema.anyOf.map((s: Schema) => valid(s, opts, name)));
  if (Array.isArray(schema.allOf)) {
    const { allOf, ...rest } = schema;
    return valid(allOf.reduce((acc: Schema, s: Schema) => ({ ...acc, ...deref(s, opts.root) }), rest), opts, name);
  }
  const types = typesOf(schema);
  if (types.length === 0) return fc.jsonValue({ maxDepth: 2 });
  return fc.oneof(
    ...types.map((type): fc.Arbitrary<unknown> => {
      switch (type) {
        case 'null':
          return fc.constant(null);
        case 'boolean':
          return fc.boolean();
        case 'integer': {
          const pool = name ? opts.poolOf(name) : undefined;
          const plain = integerArb(schema);
          // Mostly an id that exists, so the request reaches past the lookup.
          return pool ? fc.oneof({ weight: 4, arbitrary: fc.nat().map((n) => new Ref(pool, n)) }, { weight: 1, arbitrary: plain }) : plain;
        }
        case 'number':
          return fc.double({ min: schema.minimum ?? -1e9, max: schema.maximum ?? 1e9, noNaN: true, noDefaultInfinity: true });
        case 'string':
          return stringArb(schema, opts);
        case 'array': {
          const minLength = schema.minItems ?? 0;
          const maxLength = Math.max(minLength, Math.min(schema.maxItems ?? MAX_ARRAY, minLength + MAX_ARRAY));
          return fc.array(valid(schema.items ?? {}, opts), { minLength, maxLength });
        }
        case 'object':
          return objectArb(schema, opts);
        default:
          throw new Error(`schema type ${type} is not supported`);
      }
    }),
  );
}

/** One value of each JSON type, for "wrong type" cases. */
const SAMPLES: Array<[string, unknown]> = [
  ['null', null],
  ['boolean', true],
  ['boolean', false],
  ['integer', 0],
  ['integer', -1],
  ['number', 1.5],
  ['string', ''],
  ['string', 'text'],
  ['string', '1'],
  ['array', []],
  ['array', ['a']],
  ['object', {}],
  ['object', { a: 1 }],
];

function wrongType(schema: Schema): fc.Arbitrary<unknown> {
  const types = typesOf(schema);
  const accepts = (t: string) => types.includes(t) || (t === 'integer' && types.includes('number'));
  const wrong = SAMPLES.filter(([t]) => !accepts(t)).map(([, v]) => v);
  return wrong.length > 0 ? fc.constantFrom(...wrong) : fc.jsonValue({ maxDepth: 2 });
}

/** Strings that break things: huge, control characters, lone surrogates, RTL, long emoji runs, injection-looking text. */
export const strangeString: fc.Arbitrary<string> = fc.oneof(
  fc.integer({ min: 10_000, max: 200_000 }).map((n) => 'x'.repeat(n)),
  fc.integer({ min: 1_000, max: 50_000 }).map((n) => '💥é'.repeat(n)),
  fc.constantFrom(
    '\u0000',
    'a\u0000b',
    '\ud800',
    '\udfff\ud800',
    '\u202etxt.exe',
    '\r\nX-Injected: 1',
    ' ',
    '\t\n',
    "' OR 1=1 --",
    '%00',
    '../../etc/passwd',
    '${jndi:ldap://x}',
    '{{7*7}}',
    '<script>alert(1)</script>',
    '9'.repeat(400),
    '-0',
    'NaN',
    'Infinity',
    '1e309',
    '0x10',
    'true',
    'null',
    '[]',
    '{}',
  ),
  text({ minLength: 1, maxLength: 200 }),
);

function hostileNumber(schema: Schema): fc.Arbitrary<unknown> {
  const cases: unknown[] = [1.5, -0.5, 1e308, -1e308, 2 ** 53, 2 ** 63, -(2 ** 63), 1e21, 0, -1, Number.MAX_SAFE_INTEGER + 2];
  if (typeof schema.minimum === 'number') cases.push(schema.minimum - 1);
  if (typeof schema.maximum === 'number') cases.push(schema.maximum + 1);
  return fc.oneof(fc.constantFrom(...cases), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }));
}

function hostileString(schema: Schema): fc.Arbitrary<unknown> {
  const arbs: fc.Arbitrary<unknown>[] = [strangeString];
  if (typeof schema.maxLength === 'number') arbs.push(fc.constant('y'.repeat(schema.maxLength + 1)));
  if (typeof schema.minLength === 'number' && schema.minLength > 0) arbs.push(fc.constant('z'.repeat(schema.minLength - 1)));
  if (Array.isArray(schema.enum)) {
    arbs.push(fc.constantFrom(...schema.enum.map((v: unknown) => String(v).toUpperCase()), ...schema.enum.map((v: unknown) => ` ${String(v)}`)));
  }
  if (schema.format === 'date-time') arbs.push(fc.constantFrom('2026-13-01T00:00:00Z', '2026-02-30', 'yesterday', '0', '99999-01-01T00:00:00Z'));
  if (schema.format === 'uri') {
    arbs.push(fc.constantFrom('ftp://example.com/x', '/relative', 'http://', 'http://[::1', 'https://user:pw@127.0.0.1/x', 'javascript:alert(1)', 'http://example.com/a b'));
  }
  return fc.oneof(...arbs);
}

/**
 * Values that break the schema, often valid everywhere but one place. A value may happen to
 * be valid after all (a strange string a free-text field accepts): the checks hold either way.
 */
export function hostile(schemaIn: Schema, opts: GenOptions, depth = 0): fc.Arbitrary<unknown> {
  const schema = deref(schemaIn, opts.root);
  const branches = schema.oneOf ?? schema.anyOf;
  if (Array.isArray(branches)) {
    return fc.oneof(fc.jsonValue({ maxDepth: 2 }), ...branches.map((s: Schema) => hostile(s, opts, depth)));
  }
  const types = typesOf(schema);
  const arbs: fc.Arbitrary<unknown>[] = [];
  if (types.length > 0) arbs.push(wrongType(schema));
  if (types.includes('integer') || types.includes('number')) arbs.push(hostileNumber(schema));
  if (types.includes('string')) arbs.push(hostileString(schema));
  if (Array.isArray(schema.enum) && !types.includes('string')) arbs.push(strangeString);
  if (types.includes('array')) {
    const items = schema.items ?? {};
    const maxItems: number | undefined = schema.maxItems;
    if (typeof schema.minItems === 'number' && schema.minItems > 0) arbs.push(fc.constant([]));
    // Past the maximum: each item the same valid value, so a long array stays cheap to build.
    if (maxItems !== undefined && maxItems <= 1000) arbs.push(valid(items, opts).map((v) => Array.from({ length: maxItems + 1 }, () => v)));
    if (depth < 4) {
      arbs.push(
        fc
          .tuple(fc.array(valid(items, opts), { minLength: 0, maxLength: 2 }), hostile(items, opts, depth + 1))
          .map(([ok, bad]) => [...ok, bad]),
      );
    }
  }
  if (types.includes('object')) {
    const properties: Record<string, Schema> = schema.properties ?? {};
    const required: string[] = schema.required ?? [];
    const base = objectArb(schema, opts);
    if (required.length > 0) {
      arbs.push(
        fc.tuple(base, fc.constantFrom(...required)).map(([o, name]) => {
          const { [name]: _gone, ...rest } = o;
          return rest;
        }),
      );
    }
    arbs.push(
      fc
        .tuple(base, fc.constantFrom('unknown_field', 'Type', '', ' ', '__proto__', 'constructor', 'ünïcødé', 'x'.repeat(300)), fc.jsonValue({ maxDepth: 1 }))
        .map(([o, name, v]) => {
          const out: Record<string, unknown> = { ...o };
          Object.defineProperty(out, name, { value: v, enumerable: true, writable: true, configurable: true });
          return out;
        }),
    );
    const names = Object.keys(properties);
    if (names.length > 0 && depth < 4) {
      arbs.push(
        fc
          .tuple(base, fc.constantFrom(...names))
          .chain(([o, name]) => hostile(properties[name] as Schema, opts, depth + 1).map((v) => ({ ...o, [name]: v }))),
      );
    }
    if (typeof schema.minProperties === 'number' && schema.minProperties > 0) arbs.push(fc.constant({}));
    // Free-form objects are stored and hashed as they come: nest them past any sane depth.
    if (names.length === 0) {
      const deep = fc.constantFrom(65, 1_000, 20_000, 100_000).map((n) => ({ nested: new Deep(n) }));
      arbs.push(deep, deep);
    }
  }
  if (arbs.length === 0) return fc.oneof(strangeString, fc.jsonValue({ maxDepth: 3 }));
  return fc.oneof(...arbs);
}
