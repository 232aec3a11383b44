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

/** v3 dialect: HTTP Basic with the key pair, or a bearer token from /oauth2/token. */
export function keyPairOrToken(auth: AuthService) {
  return async (request: FastifyRequest, reply: FastifyReply) => {
    if (request.routeOptions.config?.public) return;
    const header = request.headers.authorization;
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
