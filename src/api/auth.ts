import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AuthService } from '../domain/auth.js';
import { sendError } from './errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    organizationId: number;
  }
  interface FastifyContextConfig {
    /** Routes that need no credentials (health, documents, OAuth callbacks). */
    public?: boolean;
  }
}

export function parseBasic(header: string | undefined): { user: string; password: string } | undefined {
  if (!header || !/^basic /i.test(header)) return undefined;
  const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

export function parseBearer(header: string | undefined): string | undefined {
  if (!header || !/^bearer /i.test(header)) return undefined;
  return header.slice(7).trim() || undefined;
}

export function unauthorized(request: FastifyRequest, reply: FastifyReply, provided: boolean) {
  reply.header('www-authenticate', 'Basic realm="herald", Bearer');
  return sendError(request, reply, 401, [
    {
      code: 'authentication_failed',
      detail: provided ? 'Invalid credentials.' : 'Authentication credentials were not provided.',
    },
  ]);
}

/** The portal's session cookie, checked by src/portal/auth.ts (capabilities, CSRF). */
export interface CookieCredential {
  name: string;
  read: (request: FastifyRequest, name: string) => string | undefined;
  check: (request: FastifyRequest, reply: FastifyReply, value: string) => Promise<unknown>;
}

/**
 * v3 dialect: HTTP Basic with the key pair, or a bearer token from /oauth2/token; without an
 * Authorization header, the portal's session cookie when one is given.
 */
export function keyPairOrToken(auth: AuthService, cookie?: CookieCredential) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    if (request.routeOptions.config?.public) return;
    const header = request.headers.authorization;
    if (header === undefined && cookie) {
      const value = cookie.read(request, cookie.name);
      if (value !== undefined) return cookie.check(request, reply, value);
    }
    const basic = parseBasic(header);
    let organizationId: number | undefined;
    if (basic) organizationId = (await auth.keyPair(basic.user, basic.password))?.organizationId;
    else {
      const token = parseBearer(header);
      if (token) organizationId = await auth.bearer(token);
    }
    if (organizationId === undefined) return unauthorized(request, reply, header !== undefined);
    request.organizationId = organizationId;
  };
}

/** SendKit dialect: the secret key in `X-Api-Key` or as a bearer token. */
export function secretKey(auth: AuthService) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    if (request.routeOptions.config?.public) return;
    const headerKey = request.headers['x-api-key'];
    const key = (Array.isArray(headerKey) ? headerKey[0] : headerKey) ?? parseBearer(request.headers.authorization);
    const organizationId = key ? await auth.secretKey(key) : undefined;
    if (organizationId === undefined) return unauthorized(request, reply, key !== undefined);
    request.organizationId = organizationId;
  };
}
