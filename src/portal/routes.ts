import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Herald } from '../herald.js';
import { sendError } from '../api/errors.js';
import { CAPABILITIES } from '../domain/portal-sessions.js';
import { ErrorsBody } from '../api/v3/schemas.js';
import { CSRF_HEADER, PORTAL_COOKIE, readCookie } from './auth.js';
import { loadAssets } from './assets.js';

const tags = ['Portal'];
const cookieSecurity = [{ PortalCookie: [] }];

const Session = Type.Object({
  organization: Type.Object({ id: Type.Integer({ minimum: 1 }), name: Type.String() }),
  capabilities: Type.Array(Type.String({ enum: [...CAPABILITIES] })),
  theme: Type.Object({
    accent_color: Type.Optional(Type.String()),
    logo_url: Type.Optional(Type.String()),
    dark: Type.Optional(Type.Boolean()),
  }),
  csrf_token: Type.String({ description: 'Send it in X-CSRF-Token with every write.' }),
  expires_at: Type.String({ format: 'date-time' }),
});

/**
 * The customer portal at /portal: its page and files, sign-in (a portal-session link or the
 * key pair), the session's details for the page, and sign-out. Everything else the page does
 * goes through the v3 API with the session cookie (src/portal/auth.ts).
 */
export async function portalRoutes(app: FastifyInstance, opts: { herald: Herald }) {
  const { herald } = opts;
  const { files, index } = loadAssets();
  const secure = herald.config.publicUrl.startsWith('https://');
  const csp = [
    "default-src 'none'",
    "script-src 'self'",
    // Mantine and the chart set CSS variables and sizes in style attributes: inline styles
    // only (scripts stay 'self'; a style cannot run code).
    "style-src 'self' 'unsafe-inline'",
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
  const hidden = { ...config, schema: { hide: true } };

  app.get('/portal', hidden, async (request, reply) => {
    if (index === undefined) {
      return sendError(request, reply, 503, [{ code: 'not_found', detail: 'The portal has not been built: run npm run build.' }]);
    }
    // no-cache: the page names this build's hashed files, so a browser always asks for it again.
    return page(reply).send(index);
  });

  app.get<{ Params: { name: string } }>('/portal/assets/:name', hidden, async (request, reply) => {
    const asset = files.get(request.params.name);
    if (!asset) return sendError(request, reply, 404, [{ code: 'not_found', detail: 'Not found.' }]);
    reply.header('etag', asset.etag).header('x-content-type-options', 'nosniff');
    // Vite names each file after a hash of its content: a new build is a new URL.
    reply.header('cache-control', 'public, max-age=31536000, immutable');
    if (request.headers['if-none-match'] === asset.etag) return reply.code(304).send();
    return reply.type(asset.type).send(asset.body);
  });

  app.get<{ Querystring: { token?: string; embed?: string } }>(
    '/portal/sign-in',
    {
      ...config,
      schema: {
        tags,
        summary: 'Sign in with a portal-session link (browser)',
        description: 'Turns the single-use token into the session cookie and redirects (303) to /portal.',
        querystring: Type.Object({ token: Type.Optional(Type.String({ maxLength: 200 })), embed: Type.Optional(Type.String()) }),
      },
    },
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
        tags,
        summary: "Sign in to the portal with the organization's key pair",
        description: 'Sets the session cookie (all capabilities).',
        body: Type.Object(
          { public_key: Type.String({ minLength: 1, maxLength: 200 }), secret_key: Type.String({ minLength: 1, maxLength: 200 }) },
          { additionalProperties: false },
        ),
        response: { 204: Type.Null(), 400: ErrorsBody, 401: ErrorsBody, 429: ErrorsBody },
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

  app.get(
    '/portal/api/session',
    {
      ...config,
      schema: {
        tags,
        summary: "The portal session's organization, capabilities, theme and CSRF token",
        security: cookieSecurity,
        response: { 200: Type.Object({ data: Session }), 401: ErrorsBody },
      },
    },
    async (request, reply) => {
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

  app.post(
    '/portal/api/sign-out',
    {
      ...config,
      schema: { tags, summary: 'End the portal session', security: cookieSecurity, response: { 204: Type.Null(), 403: ErrorsBody } },
    },
    async (request, reply) => {
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
