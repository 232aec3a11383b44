import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { parseBearer } from '../auth.js';
import { sendError } from '../errors.js';

const digest = (text: string) => createHash('sha256').update(text).digest();

/**
 * The admin API's only credential: `Authorization: Bearer <HERALD_ADMIN_TOKEN>`. Both sides
 * are hashed first, so the comparison takes the same time whatever the given token's length
 * or content. An organization's key pair or access token is never accepted here.
 */
export function adminTokenCheck(token: string) {
  const expected = digest(token);
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const header = request.headers.authorization;
    const given = parseBearer(header);
    if (given !== undefined && timingSafeEqual(digest(given), expected)) return;
    reply.header('www-authenticate', 'Bearer realm="herald-admin"');
    return sendError(request, reply, 401, [
      {
        code: 'authentication_failed',
        detail: header === undefined ? 'Authentication credentials were not provided.' : 'Invalid admin token.',
      },
    ]);
  };
}
