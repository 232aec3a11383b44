import createClient, { type Middleware } from 'openapi-fetch';
import type { components, paths } from './generated/schema';

/** Herald's own paths, typed from its OpenAPI document (generated at build time). */
export type Paths = paths;
export type Schemas = components['schemas'];

export const V3 = '/api/v3/event-subscriptions';

let csrfToken = '';
let onSignedOut: () => void = () => {};

/** The session's CSRF token (from /portal/api/session): every write sends it. */
export function setCsrfToken(token: string): void {
  csrfToken = token;
}

/** Called when the API answers 401 to a signed-in page: the session ended. */
export function setSignedOutHandler(handler: () => void): void {
  onSignedOut = handler;
}

const session: Middleware = {
  onRequest({ request }) {
    if (request.method !== 'GET' && request.method !== 'HEAD') request.headers.set('x-csrf-token', csrfToken);
    return request;
  },
  onResponse({ response, request }) {
    if (response.status === 401 && csrfToken && !new URL(request.url).pathname.startsWith('/portal/api/')) onSignedOut();
    return response;
  },
};

/** The cookie travels by itself (same origin); no credential is ever held by the script. */
export const api = createClient<paths>({ baseUrl: window.location.origin, credentials: 'same-origin' });
api.use(session);
