import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { OrganizationService } from '../../domain/organizations.js';
import {
  CAPABILITIES,
  DEFAULT_SESSION_SECONDS,
  MAX_SESSION_SECONDS,
  type Capability,
  type PortalSessionService,
  type PortalTheme,
} from '../../domain/portal-sessions.js';
import { data } from '../v3/schemas.js';
import { OrganizationId, adminErrors, security, tags } from './schemas.js';

const Body = Type.Object(
  {
    capabilities: Type.Optional(
      Type.Array(Type.String({ enum: [...CAPABILITIES] }), {
        uniqueItems: true,
        description: '`view` is always granted; the others default to none.',
      }),
    ),
    expires_in: Type.Optional(
      Type.Integer({ minimum: 60, maximum: MAX_SESSION_SECONDS, default: DEFAULT_SESSION_SECONDS, description: 'Seconds (at most 7 days).' }),
    ),
    theme: Type.Optional(
      Type.Object(
        {
          // A strict colour form: the value is put into the page's CSS.
          accent_color: Type.Optional(Type.String({ pattern: '^#[0-9a-fA-F]{6}$', description: 'e.g. #0055ff' })),
          logo_url: Type.Optional(Type.String({ format: 'uri', pattern: '^https?://', maxLength: 2000 })),
          dark: Type.Optional(Type.Boolean()),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

/** Portal sessions: a URL that opens the customer portal signed in as the organization. */
export async function portalSessionRoutes(
  app: FastifyInstance,
  opts: { organizations: OrganizationService; sessions: PortalSessionService },
) {
  app.post<{ Params: { id: string }; Body: { capabilities?: Capability[]; expires_in?: number; theme?: PortalTheme } | undefined }>(
    '/organizations/:id/portal-sessions',
    {
      schema: {
        tags,
        summary: 'Open a customer-portal session',
        description:
          'The `url` signs the browser in once (the token is single-use and stored only as a hash) and becomes an ' +
          'HttpOnly session cookie until `expires_at`. Append `&embed=1` to drop Herald\'s header in an iframe.',
        security,
        params: OrganizationId,
        body: Body,
        response: {
          201: data(Type.Object({ url: Type.String({ format: 'uri' }), token: Type.String(), expires_at: Type.String({ format: 'date-time' }) })),
          ...adminErrors,
        },
      },
    },
    async (request, reply) => {
      const organization = await opts.organizations.get(Number(request.params.id));
      return reply.code(201).send({ data: await opts.sessions.mint(organization.id, request.body ?? {}) });
    },
  );
}
