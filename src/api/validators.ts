import type { FastifyInstance } from 'fastify';
import { createBodyAjv, createParamsAjv } from '../domain/validation.js';

/** Bodies strictly (no coercion, unknown fields reported); query and path text coerced. */
export function registerValidators(app: FastifyInstance): void {
  const body = createBodyAjv();
  const params = createParamsAjv();
  app.setValidatorCompiler(({ schema, httpPart }) =>
    httpPart === 'body' ? body.compile(schema as object) : params.compile(schema as object),
  );
  // A write without a body is validated as `{}`, so each required field is reported by name.
  app.addHook('preValidation', async (request) => {
    if (request.body === undefined && ['POST', 'PATCH', 'PUT'].includes(request.method)) {
      request.body = {};
    }
  });
}
