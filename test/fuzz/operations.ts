/**
 * The operations of Herald's generated OpenAPI document, as the fuzzer drives them, and the
 * few places where the document leaves a request's shape open and Herald's own source
 * states it (a connection's `configuration`, an event's `data`, the token endpoint's form).
 */
import { AUTH_FIELDS, AUTH_TYPES, webhookConfigSchema } from '../../src/connectors/webhook/config.js';
import { CALLBACK_PATH } from '../../src/connectors/klaviyo/settings.js';
import type { EventTypeCatalog } from '../../src/domain/event-types/catalog.js';
import { type Schema, deref } from './schema-arbitrary.js';

/** How an operation answers errors: JSON:API (v3), SendKit's `{error, message, code}` (v1), an HTML page (browser). */
export type Dialect = 'v3' | 'v1' | 'html';

export interface Param {
  name: string;
  schema: Schema;
  required: boolean;
}

export interface Operation {
  method: string;
  /** As in the document: `/api/v3/event-subscriptions/connections/{id}`. */
  path: string;
  dialect: Dialect;
  pathParams: Param[];
  query: Param[];
  headers: Param[];
  /** `schema` as refined for generation; `documented` as the document states it (none for the token form). */
  body?: { schema: Schema; contentType: string; documented?: Schema };
  /** Needs credentials (an unauthenticated call is a 401). */
  secured: boolean;
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

/**
 * A parameter name's choices where the document lists them for a parameter or a top-level
 * body field of that name (`event_type`, `connection_type`); the first listing wins.
 */
function enumsByName(doc: Schema, ops: Operation[]): Map<string, unknown[]> {
  const out = new Map<string, unknown[]>();
  const note = (name: string, choices: unknown) => {
    if (Array.isArray(choices) && !out.has(name)) out.set(name, choices);
  };
  const visit = (schema: Schema | undefined) => {
    if (!schema || typeof schema !== 'object') return;
    const s = deref(schema, doc);
    for (const [name, sub] of Object.entries<Schema>(s.properties ?? {})) note(name, deref(sub, doc).enum);
    for (const b of [...(s.oneOf ?? []), ...(s.anyOf ?? [])]) visit(b);
  };
  for (const op of ops) {
    for (const p of [...op.pathParams, ...op.query]) note(p.name, p.schema.enum);
    visit(op.body?.schema);
  }
  // A connection's `type` is what `connection_type` filters on.
  note('connection_type', out.get('type'));
  return out;
}

/** The webhook `configuration` Herald accepts (src/connectors/webhook/config.ts), one branch per auth type. */
function webhookConfiguration(requireUrl: boolean): Schema {
  const base = webhookConfigSchema() as Schema;
  const { auth_type: _auth, auth_config: _config, extra_headers: _headers, ...fields } = base.properties;
  return {
    anyOf: AUTH_TYPES.map((authType) => ({
      type: 'object',
      additionalProperties: false,
      required: [...(requireUrl ? ['url'] : []), ...(authType === 'none' ? [] : ['auth_type', 'auth_config'])],
      properties: {
        ...fields,
        url: { ...fields.url, format: 'uri' },
        auth_type: { const: authType },
        ...(authType === 'none'
          ? {}
          : {
              auth_config: {
                type: 'object',
                additionalProperties: false,
                required: AUTH_FIELDS[authType],
                properties: Object.fromEntries(
                  AUTH_FIELDS[authType].map((f) => [f, f === 'header_name' ? { type: 'string', pattern: '^X-[A-Za-z]{1,12}$' } : { type: 'string', minLength: 1, maxLength: 40 }]),
                ),
              },
            }),
        extra_headers: {
          type: 'object',
          propertyNames: { pattern: '^X-[A-Za-z0-9-]{1,16}$' },
          additionalProperties: { type: 'string', maxLength: 40 },
        },
      },
    })),
  };
}

/**
 * Fills in what the document leaves free-form, by the shape of the schema rather than by
 * route: `{type, configuration}` is a connection, `{event_type, data}` an event, a string
 * `url` a URL.
 */
function refine(schema: Schema, doc: Schema, catalog: EventTypeCatalog, depth = 0): Schema {
  const s = deref(schema, doc);
  if (depth > 8 || typeof s !== 'object') return s;
  const props: Record<string, Schema> | undefined = s.properties;
  if (props?.type && props.configuration && Array.isArray(deref(props.type, doc).enum)) {
    const create = (s.required ?? []).includes('configuration');
    const types: string[] = deref(props.type, doc).enum;
    return {
      anyOf: types.map((type) => ({
        ...s,
        properties: {
          ...props,
          type: create ? { const: type } : { enum: [type] },
          configuration: type === 'webhook' ? webhookConfiguration(create) : { type: 'object', additionalProperties: false, properties: {} },
        },
      })),
    };
  }
  if (props?.event_type && props.data) {
    return {
      anyOf: catalog.all().map((t) => ({ ...s, properties: { ...props, event_type: { const: t.name }, data: t.schema } })),
    };
  }
  const out: Schema = { ...s };
  if (props) {
    out.properties = Object.fromEntries(
      Object.entries(props).map(([name, sub]) => {
        const d = refine(sub, doc, catalog, depth + 1);
        return [name, name === 'url' && d.type === 'string' && !d.format ? { ...d, format: 'uri' } : d];
      }),
    );
  }
  if (s.items) out.items = refine(s.items, doc, catalog, depth + 1);
  return out;
}

/** RFC 6749 §4.4 (the document names only the form's media type). */
const TOKEN_FORM: Schema = {
  type: 'object',
  required: ['grant_type'],
  properties: { grant_type: { enum: ['client_credentials'] }, scope: { type: 'string' } },
};

export function operationsOf(doc: Schema, catalog: EventTypeCatalog): Operation[] {
  const ops: Operation[] = [];
  for (const [path, item] of Object.entries<Schema>(doc.paths)) {
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      const params: Array<Schema> = op.parameters ?? [];
      const pick = (where: string): Param[] =>
        params.filter((p) => p.in === where).map((p) => ({ name: p.name, schema: deref(p.schema ?? {}, doc), required: p.required === true }));
      const content: Record<string, Schema> | undefined = op.requestBody?.content;
      const contentType = content ? Object.keys(content)[0] : undefined;
      let body: Operation['body'];
      if (content && contentType) {
        const documented = content[contentType]?.schema ?? {};
        body = { schema: refine(documented, doc, catalog), contentType, documented };
      }
      else if (path === '/oauth2/token') body = { schema: TOKEN_FORM, contentType: 'application/x-www-form-urlencoded' };
      ops.push({
        method: method.toUpperCase(),
        path,
        dialect: path.startsWith('/v1/') ? 'v1' : path === CALLBACK_PATH ? 'html' : 'v3',
        pathParams: pick('path'),
        query: pick('query'),
        headers: pick('header'),
        ...(body ? { body } : {}),
        secured: Array.isArray(op.security) && op.security.length > 0 && path !== '/oauth2/token',
      });
    }
  }
  const enums = enumsByName(doc, ops);
  // A free-text parameter whose name has choices elsewhere gets them too (and keeps its free text).
  for (const op of ops) {
    for (const p of [...op.pathParams, ...op.query]) {
      const choices = enums.get(p.name);
      if (choices && !p.schema.enum && p.schema.type === 'string' && !p.schema.pattern) p.schema = { anyOf: [{ enum: choices }, p.schema] };
    }
  }
  return ops;
}

/** The pool of existing resources a field or parameter refers to. */
export function poolOfField(name: string): string | undefined {
  return { connection_id: 'connections', subscription_id: 'subscriptions', event_id: 'events', delivery_id: 'deliveries' }[name];
}

/** `/…/connections/{id}` → connections; `/broadcast/test/{subscription_id}` → subscriptions. */
export function poolOfPathParam(path: string, name: string): string | undefined {
  const byName = poolOfField(name);
  if (byName) return byName;
  const segments = path.split('/');
  const at = segments.indexOf(`{${name}}`);
  const before = segments[at - 1];
  return before && ['connections', 'subscriptions', 'events', 'deliveries', 'webhooks'].includes(before) ? before : undefined;
}
