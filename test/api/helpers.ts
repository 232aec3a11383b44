import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { parse } from 'yaml';
import type { Credentials, TestHerald } from '../support/herald.js';

/** Untyped JSON, as read from the contract or from an answer (what `JSON.parse` gives). */
export type Json = ReturnType<typeof JSON.parse>;
export type Resource = Record<string, Json>;

export const API = '/api/v3';
export const CONNECTIONS = `${API}/event-subscriptions/connections`;
export const SUBSCRIPTIONS = `${API}/event-subscriptions/subscriptions`;

export const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));
export const SPEC_FILE = `${FIXTURES}sendcloud-event-subscriptions-openapi.yaml`;

/** Spec paths that belong to other work (OAuth2 authorization, test broadcast) and are not covered here. */
export const OTHER_WORK_PATHS = [
  '/event-subscriptions/connections/{id}/authorization',
  '/event-subscriptions/broadcast/test/{subscription_id}',
];

export const HTTP_METHODS = ['get', 'put', 'post', 'patch', 'delete', 'head', 'options', 'trace'] as const;

/** The reference contract, parsed from the YAML fixture. */
export function loadSpec(): Json {
  return parse(readFileSync(SPEC_FILE, 'utf8'));
}

/** ISO 8601 in UTC without milliseconds, e.g. 2026-01-15T10:30:00Z. */
export const ISO_SECONDS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;

/**
 * Herald's documented additions to a resource of the reference API: a connection's `status`
 * and endpoint-health fields (a fresh connection's: no failures yet) and, for webhooks,
 * `extra_headers` ({} when none), `retry_attempts` and `timeout_ms`.
 * Only fields the example leaves out are added; anything the example states stays as stated.
 */
export function withHeraldAdditions(resource: Resource): Resource {
  if (!('configuration' in resource) || !('type' in resource)) return resource;
  const fresh = { failing_since: null, consecutive_failures: 0, last_success_at: null, last_failure_at: null, disabled_at: null };
  const out: Resource = { ...fresh, ...resource };
  if (!('status' in out)) out.status = out.type === 'klaviyo' ? 'pending_authorization' : 'active';
  if (out.type === 'webhook') {
    out.configuration = { extra_headers: {}, retry_attempts: 5, timeout_ms: 10000, ...out.configuration };
  }
  return out;
}

/**
 * A resource with its id and timestamps replaced by placeholders, after checking that the
 * actual ones are well formed: ids positive integers, timestamps ISO 8601 without milliseconds.
 */
export function normalizeActual(resource: Resource): Resource {
  expect(resource, 'resource').toBeTypeOf('object');
  expect(Number.isInteger(resource.id) && resource.id > 0, `id ${JSON.stringify(resource.id)} is a positive integer`).toBe(true);
  expect(resource.created_at).toMatch(ISO_SECONDS);
  expect(resource.updated_at).toMatch(ISO_SECONDS);
  expect(resource.updated_at >= resource.created_at, 'updated_at is not before created_at').toBe(true);
  return { ...resource, id: '<id>', created_at: '<time>', updated_at: '<time>' };
}

export function normalizeExpected(resource: Resource): Resource {
  return { ...withHeraldAdditions(resource), id: '<id>', created_at: '<time>', updated_at: '<time>' };
}

/** Asserts a JSON:API error answer holding exactly one error. */
export function expectOneError(
  res: { status: number; body: Json; text: string },
  status: number,
  code: string,
  pointer: string | undefined,
  detail?: string,
): void {
  expect(res.status, res.text).toBe(status);
  expect(res.body, res.text).toBeTypeOf('object');
  expect(res.body.errors, res.text).toHaveLength(1);
  const error = res.body.errors[0];
  expect(error.status).toBe(String(status));
  expect(error.code, res.text).toBe(code);
  expect(typeof error.detail === 'string' && error.detail.length > 0, 'detail is a non-empty string').toBe(true);
  if (detail !== undefined) expect(error.detail).toBe(detail);
  if (pointer !== undefined) expect(error.source, res.text).toEqual({ pointer });
}

/** Every connection and subscription an organization can see, for before/after comparisons. */
export async function snapshot(h: TestHerald, org: Credentials): Promise<{ connections: unknown; subscriptions: unknown }> {
  const [connections, subscriptions] = await Promise.all([
    h.request('GET', CONNECTIONS, { auth: org }),
    h.request('GET', SUBSCRIPTIONS, { auth: org }),
  ]);
  expect(connections.status).toBe(200);
  expect(subscriptions.status).toBe(200);
  return { connections: connections.body, subscriptions: subscriptions.body };
}

export async function createConnection(h: TestHerald, org: Credentials, body: unknown): Promise<Resource> {
  const res = await h.request('POST', CONNECTIONS, { auth: org, body });
  expect(res.status, res.text).toBe(201);
  return res.body.data;
}

export async function createSubscription(h: TestHerald, org: Credentials, body: unknown): Promise<Resource> {
  const res = await h.request('POST', SUBSCRIPTIONS, { auth: org, body });
  expect(res.status, res.text).toBe(201);
  return res.body.data;
}

export const webhookBody = (url = 'https://example.com/hook', extra: Record<string, unknown> = {}) => ({
  type: 'webhook',
  configuration: { url, auth_type: 'none', ...extra },
});
