import type { FastifyInstance } from 'fastify';

/**
 * SendKit's own code samples send `Content-Type: application/json` on every request, also on
 * bodiless ones (`POST /v1/webhooks/{id}/test`). Within `/v1` an empty JSON body is read as no
 * body (then `{}`, see validators.ts) instead of a parse error. Encapsulated: v3 is unchanged.
 */
export function allowEmptyJsonBody(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = body.toString(); // parseAs 'string': already a string
    if (text === '') {
      done(null, undefined);
      return;
    }
    parseJson(request, text, done);
  });
}
