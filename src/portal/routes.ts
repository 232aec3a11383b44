import { createHash } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Herald } from '../herald.js';
import { sendError } from '../api/errors.js';
import { CSRF_HEADER, PORTAL_COOKIE, readCookie } from './auth.js';

/** The page's files, next to this module (the build copies them to dist/portal/assets). */
export const ASSETS_DIR = fileURLToPath(new URL('./assets/', import.meta.url));

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

/** Read once at start: a handful of small files; their hash versions the URLs the page uses. */
function loadAssets(): { assets: Map<string, Asset>; version: string; index: string } {
  const assets = new Map<string, Asset>();
  const all = createHash('sha256');
  for (const name of readdirSync(ASSETS_DIR).sort()) {
    const type = TYPES[extname(name)];
    if (!type) continue;
    const body = readFileSync(join(ASSETS_DIR, name));
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
    all.update(etag);
    assets.set(name, { body, type, etag });
  }
  const version = all.digest('base64url').slice(0, 12);
  const index = readFileSync(join(ASSETS_DIR, 'index.html'), 'utf8').replaceAll('{{version}}', version);
  return { assets, version, index };
}

/**
 * The customer portal at /portal: its page and files, sign-in (a portal-session link or the
 * key pair), the session's details for the page, and sign-out. Everything else the page does
 * goes through the v3 API with the session cookie (src/portal/auth.ts).
 */
export async function portalRoutes(app: FastifyInstance, opts: { herald: Herald }) {
  const { herald } = opts;
  const { assets, index } = loadAssets();
  const secure = herald.config.publicUrl.startsWith('https://');
  const csp = [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    // The theme's logo may live on the platform's own host.
    "img-src 'self' https: data:",
    "connect-src 'self'",
    "form-action 'self'",
    "base-uri 'none'",
    `frame-ancestors ${herald.config.portalFrameAncestors}`,
  ].join('; ');

  const page = (reply: FastifyReply) =>
    reply
      .type('text/html; charset=utf-8')
      .header('content-security-policy', csp)
      .header('cache-control', 'no-cache')
      .header('referrer-policy', 'no-referrer')
      .header('x-content-type-options', 'nosniff');

  /**
   * HttpOnly always. Over https: Secure and SameSite=None, so the session works in an iframe
   * on the platform's own site; over plain http (development) browsers refuse SameSite=None,
   * so Lax (an iframe then works only from the same site, e.g. another port of localhost).
   */
  const setCookie = (reply: FastifyReply, value: string, maxAgeSeconds: number) =>
    reply.header(
      'set-cookie',
      `${PORTAL_COOKIE}=${value}; Path=/; HttpOnly; Max-Age=${Math.max(0, Math.floor(maxAgeSeconds))}` +
        (secure ? '; Secure; SameSite=None' : '; SameSite=Lax'),
    );

  const config = { config: { public: true } };

  app.get('/portal', config, async (_request, reply) => page(reply).send(index));

  app.get<{ Params: { name: string } }>('/portal/assets/:name', config, async (request, reply) => {
    const asset = assets.get(request.params.name);
    if (!asset) return sendError(request, reply, 404, [{ code: 'not_found', detail: 'Not found.' }]);
    reply.header('etag', asset.etag).header('x-content-type-options', 'nosniff');
    // The page asks for them with ?v=<hash of every file>: a new build is a new URL.
    reply.header('cache-control', 'public, max-age=31536000, immutable');
    if (request.headers['if-none-match'] === asset.etag) return reply.code(304).send();
    return reply.type(asset.type).send(asset.body);
  });

  app.get<{ Querystring: { token?: string; embed?: string } }>(
    '/portal/sign-in',
    { ...config, schema: { querystring: Type.Object({ token: Type.Optional(Type.String({ maxLength: 200 })), embed: Type.Optional(Type.String()) }) } },
    async (request, reply) => {
      const embed = request.query.embed === '1' ? 'embed=1' : '';
      const signedIn = request.query.token ? await herald.portal.signInWithToken(request.query.token) : undefined;
      reply.header('referrer-policy', 'no-referrer').header('cache-control', 'no-store');
      if (!signedIn) return reply.redirect(`/portal?${[embed, 'error=link'].filter(Boolean).join('&')}`, 303);
      setCookie(reply, signedIn.cookie, (signedIn.expiresAt - Date.now()) / 1000);
      return reply.redirect(`/portal${embed ? `?${embed}` : ''}`, 303);
    },
  );

  app.post<{ Body: { public_key: string; secret_key: string } }>(
    '/portal/api/sign-in',
    {
      ...config,
      schema: {
        body: Type.Object(
          { public_key: Type.String({ minLength: 1, maxLength: 200 }), secret_key: Type.String({ minLength: 1, maxLength: 200 }) },
          { additionalProperties: false },
        ),
      },
    },
    async (request, reply) => {
      // JSON only (the route's parser): a cross-site form cannot post JSON without a CORS preflight.
      const signedIn = await herald.portal.signInWithKeyPair(request.body.public_key, request.body.secret_key);
      if (!signedIn) return sendError(request, reply, 401, [{ code: 'authentication_failed', detail: 'Invalid public key or secret key.' }]);
      setCookie(reply, signedIn.cookie, (signedIn.expiresAt - Date.now()) / 1000);
      return reply.code(204).send();
    },
  );

  const principalOf = async (request: FastifyRequest) => {
    const cookie = readCookie(request, PORTAL_COOKIE);
    return cookie ? { cookie, principal: await herald.portal.authenticate(cookie) } : undefined;
  };

  app.get('/portal/api/session', config, async (request, reply) => {
    const found = await principalOf(request);
    reply.header('cache-control', 'no-store');
    if (!found?.principal) return sendError(request, reply, 401, [{ code: 'authentication_failed', detail: 'Not signed in.' }]);
    const { principal } = found;
    const organization = await herald.organizations.get(principal.organizationId);
    return {
      data: {
        organization: { id: organization.id, name: organization.name },
        capabilities: [...principal.capabilities],
        theme: principal.theme,
        csrf_token: principal.csrfToken,
        expires_at: new Date(principal.expiresAt).toISOString(),
      },
    };
  });

  app.post('/portal/api/sign-out', config, async (request, reply) => {
    const found = await principalOf(request);
    if (found?.principal) {
      if (request.headers[CSRF_HEADER] !== found.principal.csrfToken) {
        return sendError(request, reply, 403, [{ code: 'forbidden', detail: 'Send the session\'s CSRF token in X-CSRF-Token.', header: 'X-CSRF-Token' }]);
      }
      await herald.portal.signOut(found.cookie);
    }
    setCookie(reply, '', 0);
    return reply.code(204).send();
  });
}
