/**
 * Replays the reference contract (Sendcloud Event Subscriptions API v3) against Herald.
 *
 * Everything is driven by the YAML fixture: each operation under `paths` is classified by its
 * shape (POST/GET on a collection, GET/PATCH/DELETE on `{id}`), its request examples are sent
 * as they are written, and the answers are compared with the documented response examples:
 * exactly, except for ids, timestamps and Herald's documented additions (a connection's
 * `status`; a webhook configuration's `extra_headers`, `retry_attempts`, `timeout_ms`).
 *
 * Ids in the examples refer to each other (`connection_id: 1` is the connection with `id: 1`
 * of the examples); each test works in a fresh organization and maps documented ids to the
 * ids Herald gave.
 */
import { isDeepStrictEqual } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Credentials, DATABASES, type TestHerald, startHerald } from '../support/herald.js';
import {
  API,
  HTTP_METHODS,
  type Json,
  OTHER_WORK_PATHS,
  type Resource,
  loadSpec,
  normalizeActual,
  normalizeExpected,
  snapshot,
} from './helpers.js';

const spec = loadSpec();
const paths: Record<string, Json> = spec.paths;

interface Operation {
  path: string;
  method: string;
  op: Json;
}

type Action = 'create' | 'list' | 'get' | 'update' | 'delete';

const operations: Operation[] = Object.entries(paths).flatMap(([path, item]) =>
  HTTP_METHODS.filter((m) => item[m] !== undefined).map((method) => ({ path, method, op: item[method] })),
);
const skipped = operations.filter((o) => OTHER_WORK_PATHS.includes(o.path));
const covered = operations.filter((o) => !OTHER_WORK_PATHS.includes(o.path));

/** An operation's role, from its shape: the collection path and what the method does there. */
function classify(o: Operation): { collection: string; action: Action } {
  const onItem = o.path.endsWith('/{id}');
  const collection = onItem ? o.path.slice(0, -'/{id}'.length) : o.path;
  const action: Action | undefined = onItem
    ? ({ get: 'get', patch: 'update', delete: 'delete' } as const)[o.method as 'get' | 'patch' | 'delete']
    : ({ post: 'create', get: 'list' } as const)[o.method as 'post' | 'get'];
  if (!action || collection.includes('{') || paths[collection] === undefined) {
    throw new Error(`${o.method.toUpperCase()} ${o.path} is not a collection or item operation`);
  }
  return { collection, action };
}

function resolveRef(ref: string): Json {
  return ref
    .replace(/^#\//, '')
    .split('/')
    .reduce((node: Json, key: string) => node[key], spec);
}

/** The documented success answer of an operation: its 2xx status and examples, by name. */
function success(op: Json): { status: number; examples: Record<string, Json> } {
  const code = Object.keys(op.responses).find((c) => /^2\d\d$/.test(c));
  if (!code) throw new Error(`${op.operationId} documents no success answer`);
  const examples: Record<string, Json> = op.responses[code].content?.['application/json']?.examples ?? {};
  return { status: Number(code), examples: Object.fromEntries(Object.entries(examples).map(([k, v]) => [k, v.value])) };
}

function requestExamples(op: Json): Array<[string, Resource]> {
  const examples: Record<string, Json> = op.requestBody?.content?.['application/json']?.examples ?? {};
  return Object.entries(examples).map(([name, e]) => [name, e.value]);
}

function requestSchema(op: Json): Json {
  const schema = op.requestBody.content['application/json'].schema;
  return schema.$ref ? resolveRef(schema.$ref) : schema;
}

const withoutVolatile = (r: Resource): Resource => {
  const { id: _id, created_at: _c, updated_at: _u, ...rest } = r;
  return rest;
};

/** Write-only fields the reference never returns (webhook credentials). */
function withoutWriteOnly(body: Resource): Resource {
  if (body.configuration === null || typeof body.configuration !== 'object') return body;
  const { auth_config: _secret, ...configuration } = body.configuration;
  return { ...body, configuration };
}

/** What a create request should read back as: write-only fields dropped, schema defaults applied. */
function echoOfCreate(createOp: Json, body: Resource): Resource {
  const out = withoutWriteOnly(body);
  for (const [name, prop] of Object.entries<Json>(requestSchema(createOp).properties ?? {})) {
    if (out[name] === undefined && prop.default !== undefined) out[name] = prop.default;
  }
  return out;
}

/** PATCH semantics of the contract: given fields replace, `configuration` merges key by key. */
function applyPatch(base: Resource, patch: Resource): Resource {
  const out: Resource = { ...base };
  for (const [key, value] of Object.entries(withoutWriteOnly(patch))) {
    out[key] = key === 'configuration' ? { ...base.configuration, ...value } : value;
  }
  return out;
}

const CONNECTIONS_PATH = '/event-subscriptions/connections';

/** Documented connections by their documented id, the create answers first. */
function documentedConnection(docId: number): Resource {
  const ops = [paths[CONNECTIONS_PATH].post, ...Object.values<Json>(paths[`${CONNECTIONS_PATH}/{id}`])];
  for (const op of ops) {
    if (!op?.responses) continue;
    for (const example of Object.values<Json>(success(op).examples)) {
      const items: Resource[] = Array.isArray(example.data) ? example.data : [example.data];
      const found = items.find((item) => item?.id === docId);
      if (found) return found;
    }
  }
  throw new Error(`no documented connection with id ${docId}`);
}

describe.each(DATABASES)('reference contract examples on %s', (kind) => {
  let h: TestHerald;
  beforeAll(async () => {
    h = await startHerald(kind);
  });
  afterAll(() => h.close());

  /** One organization, and the ids Herald gave to the documented connections created in it. */
  class Scenario {
    readonly connectionIds = new Map<number, number>();
    constructor(readonly org: Credentials) {}

    static async start(): Promise<Scenario> {
      return new Scenario(await h.createOrg());
    }

    request(method: string, path: string, body?: unknown) {
      return h.request(method, `${API}${path}`, { auth: this.org, ...(body !== undefined ? { body } : {}) });
    }

    /** Creates the documented connection `docId` once, and returns Herald's id for it. */
    async connection(docId: number): Promise<number> {
      let id = this.connectionIds.get(docId);
      if (id === undefined) {
        id = (await this.createFrom(CONNECTIONS_PATH, documentedConnection(docId))).id as number;
        this.connectionIds.set(docId, id);
      }
      return id;
    }

    /** A request body with documented connection ids replaced by Herald's (creating them). */
    async resolve(body: Resource): Promise<Resource> {
      if (typeof body.connection_id !== 'number') return body;
      return { ...body, connection_id: await this.connection(body.connection_id) };
    }

    /** A documented resource as Herald should answer it, ready for comparison. */
    expected(resource: Resource): Resource {
      const out = normalizeExpected(resource);
      if (typeof resource.connection_id === 'number') {
        const id = this.connectionIds.get(resource.connection_id);
        if (id === undefined) throw new Error(`documented connection ${resource.connection_id} was not created`);
        out.connection_id = id;
      }
      return out;
    }

    /**
     * Creates a documented resource: with the collection's request example that reads back as
     * it (so credentials are there), else with its fields that the create request accepts.
     */
    async createFrom(collection: string, documented: Resource): Promise<Resource> {
      const createOp = paths[collection].post;
      const target = withoutVolatile(documented);
      let body = requestExamples(createOp)
        .map(([, value]) => value)
        .find((value) => isDeepStrictEqual(echoOfCreate(createOp, value), target));
      if (!body) {
        const accepted = Object.keys(requestSchema(createOp).properties);
        body = Object.fromEntries(Object.entries(target).filter(([k]) => accepted.includes(k)));
      }
      const res = await this.request('POST', collection, await this.resolve(body));
      expect(res.status, `creating ${JSON.stringify(body)}: ${res.text}`).toBe(success(createOp).status);
      return res.body.data;
    }
  }

  const exercised = new Set<string>();
  const label = (o: Operation) => `${o.method.toUpperCase()} ${o.path}`;

  async function runCreate(o: Operation): Promise<void> {
    const { status, examples } = success(o.op);
    const unused = new Set(Object.keys(examples));
    const requests = requestExamples(o.op);
    expect(requests.length, 'request examples').toBeGreaterThan(0);
    for (const [name, value] of requests) {
      const s = await Scenario.start();
      const res = await s.request('POST', o.path, await s.resolve(value));
      expect(res.status, `${name}: ${res.text}`).toBe(status);
      expect(Object.keys(res.body), name).toEqual(['data']);
      // The documented answer for this request, else what the request reads back as.
      const echo = echoOfCreate(o.op, value);
      const documented = Object.entries(examples).find(([, ex]) => isDeepStrictEqual(withoutVolatile(ex.data), echo));
      if (documented) unused.delete(documented[0]);
      const expected = documented ? documented[1].data : echo;
      expect(normalizeActual(res.body.data), name).toEqual(s.expected(expected));
      // It is stored as answered.
      const again = await s.request('GET', `${o.path}/${res.body.data.id}`);
      expect(again.status).toBe(200);
      expect(again.body, name).toEqual(res.body);
    }
    expect([...unused], 'documented answers that no request example produced').toEqual([]);
  }

  async function runList(o: Operation, collection: string): Promise<void> {
    const { status, examples } = success(o.op);
    expect(Object.keys(examples).length, 'response examples').toBeGreaterThan(0);
    for (const [name, example] of Object.entries(examples)) {
      const s = await Scenario.start();
      const empty = await s.request('GET', o.path);
      expect(empty.status).toBe(status);
      expect(empty.body).toEqual({ data: [] });
      for (const item of example.data as Resource[]) await s.createFrom(collection, item);
      const res = await s.request('GET', o.path);
      expect(res.status, res.text).toBe(status);
      expect(Object.keys(res.body)).toEqual(['data']);
      expect(res.body.data.map(normalizeActual), name).toEqual(example.data.map((i: Resource) => s.expected(i)));

      // The documented query filters, with each value they can take here.
      for (const param of (o.op.parameters ?? []).filter((p: Json) => p.in === 'query')) {
        const field = param.name === 'connection_type' ? 'type' : param.name;
        const values: Json[] = param.schema.enum
          ?? (param.schema.type === 'boolean' ? [true, false] : [...new Set(example.data.map((i: Resource) => i[field]))]);
        expect(values.length, `values of ${param.name}`).toBeGreaterThan(0);
        for (const value of values) {
          const filtered = await s.request('GET', `${o.path}?${param.name}=${encodeURIComponent(String(value))}`);
          expect(filtered.status, filtered.text).toBe(status);
          const want = example.data.filter((i: Resource) => i[field] === value).map((i: Resource) => s.expected(i));
          expect(filtered.body.data.map(normalizeActual), `${name} ?${param.name}=${value}`).toEqual(want);
        }
      }
    }
  }

  /** The resource an item operation of the contract is documented on: its GET example. */
  function documentedItem(o: Operation): Resource {
    const examples = Object.values<Json>(success(paths[o.path].get).examples);
    expect(examples.length, `GET ${o.path} examples`).toBeGreaterThan(0);
    return examples[0].data;
  }

  async function runGet(o: Operation, collection: string): Promise<void> {
    const { status, examples } = success(o.op);
    expect(Object.keys(examples).length).toBeGreaterThan(0);
    for (const [name, example] of Object.entries(examples)) {
      const s = await Scenario.start();
      const created = await s.createFrom(collection, example.data);
      const res = await s.request('GET', `${collection}/${created.id}`);
      expect(res.status, res.text).toBe(status);
      expect(Object.keys(res.body)).toEqual(['data']);
      expect(res.body.data.id).toBe(created.id);
      expect(normalizeActual(res.body.data), name).toEqual(s.expected(example.data));
    }
  }

  async function runUpdate(o: Operation, collection: string): Promise<void> {
    const { status, examples } = success(o.op);
    const patches = requestExamples(o.op);
    expect(patches.length, 'request examples').toBeGreaterThan(0);
    const base = documentedItem(o);

    // Each example alone: only the fields it gives change.
    for (const [name, patch] of patches) {
      const s = await Scenario.start();
      const created = await s.createFrom(collection, base);
      const res = await s.request('PATCH', `${collection}/${created.id}`, await s.resolve(patch));
      expect(res.status, `${name}: ${res.text}`).toBe(status);
      expect(res.body.data.id).toBe(created.id);
      expect(res.body.data.created_at).toBe(created.created_at);
      expect(normalizeActual(res.body.data), name).toEqual(s.expected(applyPatch(base, patch)));
      const again = await s.request('GET', `${collection}/${created.id}`);
      expect(again.body, name).toEqual(res.body);
    }

    // All examples in turn give the documented answer.
    expect(Object.keys(examples).length, 'response examples').toBeGreaterThan(0);
    for (const [name, example] of Object.entries(examples)) {
      expect(example.data.id, `${name} is documented on the GET example's resource`).toBe(base.id);
      const s = await Scenario.start();
      const created = await s.createFrom(collection, base);
      let last: Json;
      for (const [, patch] of patches) {
        last = await s.request('PATCH', `${collection}/${created.id}`, await s.resolve(patch));
        expect(last.status, last.text).toBe(status);
      }
      expect(last.body.data.id).toBe(created.id);
      expect(last.body.data.created_at).toBe(created.created_at);
      expect(normalizeActual(last.body.data), name).toEqual(s.expected(example.data));
    }
  }

  async function runDelete(o: Operation, collection: string): Promise<void> {
    const { status } = success(o.op);
    const base = documentedItem(o);
    const s = await Scenario.start();
    const created = await s.createFrom(collection, base);
    // A connection's subscriptions go with it: give it the documented subscriptions that use it.
    const dependants: Resource[] = [];
    if (collection === CONNECTIONS_PATH) {
      s.connectionIds.set(base.id, created.id);
      const subsCreate = paths['/event-subscriptions/subscriptions'].post;
      for (const [, value] of requestExamples(subsCreate).filter(([, v]) => v.connection_id === base.id)) {
        const sub = await s.request('POST', '/event-subscriptions/subscriptions', await s.resolve(value));
        expect(sub.status, sub.text).toBe(201);
        dependants.push(sub.body.data);
      }
      expect(dependants.length, 'subscriptions on the deleted connection').toBeGreaterThan(0);
    }
    // A sibling that must survive: another resource of the collection's list example.
    const siblingDoc = Object.values<Json>(success(paths[collection].get).examples)[0].data.find((i: Resource) => i.id !== base.id);
    const other = await s.createFrom(collection, siblingDoc);
    const res = await s.request('DELETE', `${collection}/${created.id}`);
    expect(res.status, res.text).toBe(status);
    expect(res.text).toBe('');
    const gone = await s.request('GET', `${collection}/${created.id}`);
    expect(gone.status).toBe(404);
    expect(gone.body.errors[0].code).toBe('not_found');
    const list = await s.request('GET', collection);
    expect(list.body.data.map((r: Resource) => r.id)).toEqual([other.id]);
    for (const sub of dependants) {
      expect((await s.request('GET', `/event-subscriptions/subscriptions/${sub.id}`)).status).toBe(404);
    }
    if (collection === CONNECTIONS_PATH) {
      expect((await s.request('GET', '/event-subscriptions/subscriptions')).body).toEqual({ data: [] });
    } else {
      // The connection it used stays.
      expect((await s.request('GET', `${CONNECTIONS_PATH}/${created.connection_id}`)).status).toBe(200);
    }
    const again = await s.request('DELETE', `${collection}/${created.id}`);
    expect(again.status).toBe(404);
  }

  it('covers every operation of the contract except the two that belong to other work', () => {
    expect(operations.length).toBe(12);
    expect(skipped.map((o) => `${o.method} ${o.path}`).sort()).toEqual(
      ['post /event-subscriptions/broadcast/test/{subscription_id}', 'post /event-subscriptions/connections/{id}/authorization'],
    );
    expect(covered.length).toBe(operations.length - skipped.length);
    expect(covered.map((o) => classify(o).action).sort()).toEqual(
      ['create', 'create', 'delete', 'delete', 'get', 'get', 'list', 'list', 'update', 'update'],
    );
  });

  for (const o of covered) {
    it(`${label(o)} (${o.op.operationId}) answers as documented`, async () => {
      const { collection, action } = classify(o);
      if (action === 'create') await runCreate(o);
      else if (action === 'list') await runList(o, collection);
      else if (action === 'get') await runGet(o, collection);
      else if (action === 'update') await runUpdate(o, collection);
      else await runDelete(o, collection);
      exercised.add(label(o));
    });
  }

  /** Provokes a documented 400 example from the operation's first request example. */
  function badRequestFrom(o: Operation, error: Json): Resource {
    const [, example] = requestExamples(o.op)[0] as [string, Resource];
    const body: Resource = structuredClone(example);
    const keys = (error.source.pointer as string).replace(/^\/data\//, '').split('/');
    const last = keys.pop() as string;
    const parent = keys.reduce((node: Json, key: string) => (node[key] ??= {}), body);
    if (error.code === 'required') delete parent[last];
    else if (error.code === 'invalid' && error.detail === 'Enter a valid URL.') parent[last] = 'not a url';
    else throw new Error(`no recipe for a "${error.code}" error at ${error.source.pointer}`);
    return body;
  }

  const documented400 = covered.flatMap((o) =>
    Object.entries<Json>(o.op.responses['400']?.content?.['application/json']?.examples ?? {}).map(
      ([name, ex]) => [o, name, ex.value] as const,
    ),
  );

  it('documents the three 400 examples replayed below', () => {
    expect(documented400.map(([o, name]) => `${label(o)} ${name}`)).toEqual([
      'POST /event-subscriptions/connections ValidationError',
      'PATCH /event-subscriptions/connections/{id} ValidationError',
      'POST /event-subscriptions/subscriptions ValidationError',
    ]);
  });

  for (const [o, name, example] of documented400) {
    it(`${label(o)} answers the documented 400 ${name} (${example.errors[0].code} at ${example.errors[0].source.pointer})`, async () => {
      const { collection, action } = classify(o);
      const s = await Scenario.start();
      let path = o.path;
      let target: Resource | undefined;
      if (action === 'update') {
        target = await s.createFrom(collection, documentedItem(o));
        path = `${collection}/${target.id}`;
      }
      const body = await s.resolve(badRequestFrom(o, example.errors[0]));
      const before = await snapshot(h, s.org);
      const res = await s.request(o.method.toUpperCase(), path, body);
      expect(res.status, res.text).toBe(400);
      expect(res.body).toEqual(example);
      expect(await snapshot(h, s.org)).toEqual(before);
      if (target) expect((await s.request('GET', path)).body.data).toEqual(target);
    });
  }

  describe("Herald's extra list variants", () => {
    const listConnections = success(paths[CONNECTIONS_PATH].get).examples;
    const listSubscriptions = success(paths['/event-subscriptions/subscriptions'].get).examples;

    it('GET /event-subscriptions/connections/type/{connection_type} lists one type', async () => {
      const types: string[] = paths[CONNECTIONS_PATH].get.parameters.find((p: Json) => p.name === 'connection_type').schema.enum;
      expect(types).toEqual(['webhook', 'klaviyo']);
      for (const example of Object.values<Json>(listConnections)) {
        const s = await Scenario.start();
        for (const item of example.data) await s.createFrom(CONNECTIONS_PATH, item);
        for (const type of types) {
          const res = await s.request('GET', `${CONNECTIONS_PATH}/type/${type}`);
          expect(res.status, res.text).toBe(200);
          const want = example.data.filter((i: Resource) => i.type === type).map((i: Resource) => s.expected(i));
          expect(want.length).toBeGreaterThan(0);
          expect(res.body.data.map(normalizeActual), type).toEqual(want);
        }
        const unknown = await s.request('GET', `${CONNECTIONS_PATH}/type/ftp`);
        expect(unknown.status).toBe(404);
        expect(unknown.body.errors[0].code).toBe('not_found');
      }
    });

    it('GET /event-subscriptions/subscriptions/event/{event_type} lists one event type', async () => {
      const eventTypes: string[] = resolveRef('#/components/schemas/subscription').properties.event_type.enum;
      expect(eventTypes).toEqual(['parcels.event.created']);
      for (const example of Object.values<Json>(listSubscriptions)) {
        const s = await Scenario.start();
        for (const item of example.data) await s.createFrom('/event-subscriptions/subscriptions', item);
        for (const eventType of eventTypes) {
          const res = await s.request('GET', `/event-subscriptions/subscriptions/event/${eventType}`);
          expect(res.status, res.text).toBe(200);
          const want = example.data.filter((i: Resource) => i.event_type === eventType).map((i: Resource) => s.expected(i));
          expect(want.length).toBeGreaterThan(0);
          expect(res.body.data.map(normalizeActual), eventType).toEqual(want);
        }
        const unknown = await s.request('GET', '/event-subscriptions/subscriptions/event/no.such.event');
        expect(unknown.status).toBe(404);
        expect(unknown.body.errors[0].code).toBe('not_found');
      }
    });
  });

  it('exercised every covered operation', () => {
    expect([...exercised].sort()).toEqual(covered.map(label).sort());
  });
});
