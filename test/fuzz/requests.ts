/**
 * One generated request per case: valid input derived from the operation's schemas, or one
 * kind of bad input (body, query, path, JSON syntax, media type, credentials, headers).
 */
import fc from 'fast-check';
import type { Operation, Param } from './operations.js';
import { poolOfPathParam } from './operations.js';
import { Deep, type GenOptions, Ref, hostile, strangeString, valid } from './schema-arbitrary.js';

/** Whose credentials a case carries: the fuzzed organization's (`org`, `bearer`), another one's, or broken ones. */
export type AuthKind = 'org' | 'bearer' | 'foreign' | 'none' | 'wrong' | 'malformed';

export interface Case {
  kind: string;
  method: string;
  /** Path parameter values; a Ref becomes an existing resource's id when sent. */
  params: Record<string, unknown>;
  /** Path parameters sent as they are, not percent-encoded (`%zz`, `..`). */
  rawParams?: boolean;
  query: Array<[string, unknown]>;
  /** Replaces `query` when set: a query string sent as it is. */
  rawQuery?: string;
  headers: Record<string, string>;
  body?: { json: unknown } | { raw: string } | { form: unknown };
  contentType?: string;
  auth: AuthKind;
  /** Which malformed credentials (an index into the dialect's list). */
  authPick?: number;
}

/** Percent-encodes every byte but the unreserved ones (works for lone surrogates too). */
export function encode(value: string): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-._~]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** A case as fast-check prints a counterexample: long strings cut short. */
function brief(value: unknown): string {
  return JSON.stringify(value, (_k, v) => (typeof v === 'string' && v.length > 120 ? `${v.slice(0, 60)}…(${v.length} chars)` : v));
}

const HEADER_TEXT = fc.string({ minLength: 1, maxLength: 40 }); // printable ASCII: what fetch can send
/** A few keys reused on purpose: the same key with another body must be a 409 that creates nothing. */
const IDEMPOTENCY_KEY = fc.oneof(fc.constantFrom('fuzz-key-1', 'fuzz-key-2'), fc.stringMatching(/^[A-Za-z0-9-]{1,40}$/));

const optionalParams = (params: Param[], arb: (p: Param) => fc.Arbitrary<unknown>) =>
  fc
    .tuple(...params.map((p) => (p.required ? arb(p).map((v) => [[p.name, v]]) : fc.option(arb(p), { nil: undefined }).map((v) => (v === undefined ? [] : [[p.name, v]])))))
    .map((lists) => lists.flat() as Array<[string, unknown]>);

export function caseArbitrary(op: Operation, gen: GenOptions): fc.Arbitrary<Case> {
  const paramValue = (p: Param): fc.Arbitrary<unknown> => {
    const pool = poolOfPathParam(op.path, p.name);
    const plain = valid(p.schema, gen);
    return pool ? fc.oneof({ weight: 5, arbitrary: fc.nat().map((n) => new Ref(pool, n)) }, { weight: 1, arbitrary: plain }) : plain;
  };
  const params = fc.record(Object.fromEntries(op.pathParams.map((p) => [p.name, paramValue(p)])));
  const query = op.query.length > 0 ? optionalParams(op.query, (p) => valid(p.schema, gen, p.name)) : fc.constant([] as Array<[string, unknown]>);
  const headers = fc
    .tuple(...op.headers.map((h) => fc.option(h.name === 'idempotency-key' ? IDEMPOTENCY_KEY : HEADER_TEXT, { nil: undefined }).map((v) => [h.name, v] as const)))
    .map((pairs) => Object.fromEntries(pairs.filter(([, v]) => v !== undefined)) as Record<string, string>);
  const form = op.body?.contentType === 'application/x-www-form-urlencoded';
  const wrap = (value: unknown): Case['body'] => (form ? { form: value } : { json: value });
  const auth: fc.Arbitrary<AuthKind> = op.secured ? fc.constantFrom<AuthKind>('org', 'org', 'bearer') : fc.constant<AuthKind>('org');
  const validBody = op.body ? valid(op.body.schema, gen).map(wrap) : fc.constant(undefined);
  const contentType = op.body ? fc.constantFrom(op.body.contentType, ...(op.body.contentType === 'application/json' ? ['application/vnd.api+json', 'application/json; charset=utf-8'] : [])) : fc.constant(undefined);

  const base = fc.record({ params, query, headers, body: validBody, contentType, auth });
  type Base = typeof base extends fc.Arbitrary<infer T> ? T : never;
  const make = (kind: string, b: Base, extra: Partial<Case> = {}): Case => {
    const { body, contentType: ct, ...rest } = b;
    const c: Case = { kind, method: op.method, ...rest, ...(body ? { body } : {}), ...(ct && body ? { contentType: ct } : {}), ...extra };
    return Object.defineProperty(c, fc.toStringMethod, { value: () => brief(c) });
  };

  const kinds: Array<{ weight: number; arbitrary: fc.Arbitrary<Case> }> = [{ weight: 6, arbitrary: base.map((b) => make('valid', b)) }];
  const hasBody = op.method !== 'GET' && op.method !== 'DELETE';
  if (op.body) {
    kinds.push({ weight: 6, arbitrary: fc.tuple(base, hostile(op.body.schema, gen)).map(([b, v]) => make('bad-body', b, { body: wrap(v), contentType: op.body?.contentType as string })) });
    kinds.push({
      weight: 1,
      arbitrary: fc
        .tuple(base, fc.constantFrom('text/plain', 'application/xml', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded', 'application/json-patch+json', 'application/octet-stream', '', 'application/json; charset=utf-16', 'application/json; charset=latin1', 'APPLICATION/JSON', 'application/json;', 'application/json, text/plain', 'application/jsonx', 'json'))
        .filter(([, ct]) => ct !== op.body?.contentType)
        .map(([b, ct]) => make('bad-content-type', b, { body: { raw: JSON.stringify((b.body as { json?: unknown })?.json ?? {}) }, contentType: ct })),
    });
  } else if (hasBody) {
    // An operation without a body given one anyway: it is ignored or refused, never a failure.
    kinds.push({ weight: 1, arbitrary: fc.tuple(base, fc.jsonValue({ maxDepth: 3 })).map(([b, v]) => make('unexpected-body', b, { body: { json: v }, contentType: 'application/json' })) });
  }
  if (hasBody) {
    const malformed = fc.oneof(
      fc.constantFrom('{', '{"a":', '[1,', 'nul', '{"a":1}x', "{'a':1}", '\ufeff{}', '{"a":1,}', '""', 'NaN', '{"__proto__":{"x":1}}', '{"constructor":{"prototype":{"x":1}}}', ''),
      fc.integer({ min: 1000, max: 20_000 }).map((n) => '['.repeat(n) + ']'.repeat(n)),
      fc.integer({ min: 1000, max: 5_000 }).map((n) => '{"a":'.repeat(n) + '1' + '}'.repeat(n)),
      fc.constant(`{"x":"${'a'.repeat(1024 * 1024)}"}`),
      strangeString,
    );
    kinds.push({ weight: 2, arbitrary: fc.tuple(base, malformed).map(([b, raw]) => make('malformed-json', b, { body: { raw }, contentType: op.body?.contentType ?? 'application/json' })) });
  }
  if (op.query.length > 0) {
    const badQuery = fc
      .tuple(base, fc.constantFrom(...op.query), fc.boolean())
      .chain(([b, p, alone]) =>
        hostile(p.schema, gen).map((v) => {
          const others = alone ? [] : b.query.filter(([n]) => n !== p.name);
          return make('bad-query', b, { query: [...others, [p.name, typeof v === 'object' && v !== null ? JSON.stringify(v) : v]] });
        }),
      );
    const names = op.query.map((p) => p.name);
    const rawQuery = fc
      .tuple(base, fc.constantFrom(...names, 'unknown', 'code', 'state', 'error'))
      .chain(([b, n]) =>
        fc
          .constantFrom(`${n}=%zz`, `${n}=%`, `${n}=1&${n}=2`, `${n}[]=1`, `${n}[a]=1`, `${n}`, `${n}=`, '&&&=', `${n}=a=b`, `${n}=${'9'.repeat(5000)}`, `__proto__[x]=1`, `${n}=%00`)
          .map((raw) => make('raw-query', b, { rawQuery: raw })),
      );
    kinds.push({ weight: 3, arbitrary: badQuery }, { weight: 1, arbitrary: rawQuery });
  } else {
    // Unknown query parameters on an operation that takes none.
    kinds.push({
      weight: 1,
      arbitrary: fc.tuple(base, fc.constantFrom('code', 'state', 'error', 'error_description', 'limit', 'id'), strangeString).map(([b, n, v]) => make('extra-query', b, { query: [[n, v]] })),
    });
  }
  if (op.pathParams.length > 0) {
    const badPath = fc.tuple(base, fc.constantFrom(...op.pathParams)).chain(([b, p]) =>
      fc
        .oneof(
          hostile(p.schema, gen).map((v) => ({ v, raw: false })),
          fc.constantFrom('0', '-1', '1.5', '1e3', ' 1', '01', '0x1', '9'.repeat(17), '9'.repeat(40), 'null', 'undefined', 'ä', '😀').map((v) => ({ v, raw: false })),
          fc.constantFrom('%zz', '%', '..', '%2e%2e', '%00', '%2F', 'a%2Fb', ';', '1;x=1').map((v) => ({ v, raw: true })),
        )
        .map(({ v, raw }) => make('bad-path', b, { params: { ...b.params, [p.name]: typeof v === 'object' && v !== null ? JSON.stringify(v) : v }, ...(raw ? { rawParams: true } : {}) })),
    );
    kinds.push({ weight: 3, arbitrary: badPath });
  }
  if (op.secured) {
    // Another organization naming this one's resources (in the path, a body or a filter): a 4xx that changes nothing, or its own data.
    kinds.push({ weight: 1, arbitrary: base.map((b) => make('foreign-org', b, { auth: 'foreign' })) });
    kinds.push({ weight: 1, arbitrary: fc.tuple(base, fc.constantFrom<AuthKind>('none', 'wrong', 'malformed'), fc.nat()).map(([b, a, pick]) => make('bad-auth', b, { auth: a, authPick: pick })) });
  }
  if (op.headers.length > 0) {
    const badHeader = fc
      .tuple(base, fc.constantFrom(...op.headers), fc.constantFrom('', ' ', 'k'.repeat(256), 'k'.repeat(10_000), '\t', 'é'))
      .map(([b, h, v]) => make('bad-header', b, { headers: { ...b.headers, [h.name]: v } }));
    kinds.push({ weight: 1, arbitrary: badHeader });
  }
  return fc.oneof(...kinds);
}

/** Whether a value names an existing resource somewhere inside. */
export function hasRef(value: unknown): boolean {
  if (value instanceof Ref) return true;
  if (value instanceof Deep) return false;
  if (value !== null && typeof value === 'object') return Object.values(value).some(hasRef);
  return false;
}

/** Replaces every Ref with an existing resource (by index into its pool); an empty pool gives an id that does not exist. */
export function resolveRefs(value: unknown, pools: Record<string, Array<string | number>>): unknown {
  if (value instanceof Deep) return value;
  if (value instanceof Ref) {
    const pool = pools[value.pool] ?? [];
    return pool.length > 0 ? pool[value.pick % pool.length] : value.pool === 'webhooks' ? 'f'.repeat(24) : 999_999_999;
  }
  if (Array.isArray(value)) return value.map((v) => resolveRefs(v, pools));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) Object.defineProperty(out, k, { value: resolveRefs(v, pools), enumerable: true, writable: true, configurable: true });
    return out;
  }
  return value;
}
