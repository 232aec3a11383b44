import { timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { PortalPrincipal, PortalSessionService } from '../domain/portal-sessions.js';
import { sendError } from '../api/errors.js';
import { SAFE_METHODS, capabilityFor } from './capabilities.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set when the request came with a portal session cookie (and not an API credential). */
    portal?: PortalPrincipal;
  }
}

export const PORTAL_COOKIE = 'herald_portal';
export const CSRF_HEADER = 'x-csrf-token';

/** One cookie's value from the Cookie header (Herald sets only this one; no parser needed). */
export function readCookie(request: FastifyRequest, name: string): string | undefined {
  const header = request.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim()) || undefined;
  }
  return undefined;
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * The v3 API's third credential: the portal's session cookie, taken only when no
 * Authorization header is sent. A write must carry the session's CSRF token in
 * `X-CSRF-Token` (a cross-site form cannot set a header, and no other origin can read the
 * token: Herald answers no CORS); then the route's capability (capabilities.ts) decides.
 */
export function portalSession(sessions: PortalSessionService) {
  return async (request: FastifyRequest, reply: FastifyReply, cookie: string) => {
    const principal = await sessions.authenticate(cookie);
    if (!principal) {
      return sendError(request, reply, 401, [{ code: 'authentication_failed', detail: 'The portal session has expired or was signed out.' }]);
    }
    if (!SAFE_METHODS.has(request.method)) {
      const given = request.headers[CSRF_HEADER];
      if (typeof given !== 'string' || !sameText(given, principal.csrfToken)) {
        return sendError(request, reply, 403, [
          { code: 'forbidden', detail: 'A portal write must send the session\'s CSRF token in X-CSRF-Token.', header: 'X-CSRF-Token' },
        ]);
      }
    }
    // An unknown path has no route pattern: it goes on to its 404.
    const url = request.routeOptions.url;
    if (url !== undefined) {
      const needed = capabilityFor(request.method, url);
      if (needed === null) return sendError(request, reply, 403, [{ code: 'forbidden', detail: 'Portal sessions may not do this.' }]);
      if (!principal.capabilities.has(needed)) {
        return sendError(request, reply, 403, [{ code: 'forbidden', detail: `This portal session does not have the "${needed}" capability.` }]);
      }
    }
    request.organizationId = principal.organizationId;
    request.portal = principal;
  };
}
