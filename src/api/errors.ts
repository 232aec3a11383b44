import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { type FieldError, HeraldError } from '../domain/errors.js';
import { toFieldErrors } from '../domain/validation.js';
import { isDatabaseUnavailable } from '../store/errors.js';

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Entity',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
};

export function isSendkitDialect(url: string): boolean {
  return url.startsWith('/v1/') || url === '/v1';
}

/** JSON:API errors (the v3 dialect): body pointers are rendered under `/data`. */
export function jsonApiErrors(status: number, errors: FieldError[]) {
  return {
    errors: errors.map((e) => {
      const out: Record<string, unknown> = { status: String(status), code: e.code, detail: e.detail };
      if (e.pointer !== undefined) out.source = { pointer: `/data${e.pointer}` };
      else if (e.parameter !== undefined) out.source = { parameter: e.parameter };
      else if (e.header !== undefined) out.source = { header: e.header };
      return out;
    }),
  };
}

/** The SendKit dialect's `{error, message, code}`. */
export function sendkitError(status: number, errors: FieldError[]) {
  const message = errors
    .map((e) => {
      const where = e.pointer ? e.pointer.slice(1).replace(/\//g, '.') : e.parameter;
      return where ? `${where}: ${e.detail}` : e.detail;
    })
    .join(' ');
  return { error: REASONS[status] ?? 'Error', message, code: status };
}

export function sendError(request: FastifyRequest, reply: FastifyReply, status: number, errors: FieldError[]) {
  const body = isSendkitDialect(request.url) ? sendkitError(status, errors) : jsonApiErrors(status, errors);
  return reply.code(status).type('application/json').send(body);
}

function frameworkError(error: FastifyError): { status: number; errors: FieldError[] } | undefined {
  switch (error.code) {
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return {
        status: 415,
        errors: [{ code: 'invalid', detail: 'Unsupported media type; send application/json.', header: 'Content-Type' }],
      };
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, errors: [{ code: 'invalid', detail: 'The request body is larger than 1 MiB.' }] };
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { status: 400, errors: [{ code: 'invalid', detail: `JSON parse error - ${error.message}` }] };
    default:
      if (error instanceof SyntaxError || error.statusCode === 400) {
        return { status: 400, errors: [{ code: 'invalid', detail: `JSON parse error - ${error.message}` }] };
      }
      return undefined;
  }
}

/**
 * Errors of Fastify's router, which bypass the error handler (Fastify's `frameworkErrors`
 * option): a path that is not valid percent-encoding is malformed (400); a path segment
 * longer than the router's limit names nothing that exists, like any other invalid id (404).
 */
export function routerErrors(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  if (error.code === 'FST_ERR_MAX_PARAM_LENGTH') return sendError(request, reply, 404, [{ code: 'not_found', detail: 'Not found.' }]);
  if (error.code === 'FST_ERR_BAD_URL') {
    return sendError(request, reply, 400, [{ code: 'invalid', detail: 'The URL path is not valid percent-encoding.' }]);
  }
  request.log.error({ err: error }, 'request failed');
  return sendError(request, reply, 500, [{ code: 'invalid', detail: 'Internal server error.' }]);
}

export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error instanceof HeraldError) return sendError(request, reply, error.status, error.errors);
    if (error.validation) {
      if (error.validationContext === 'params') {
        return sendError(request, reply, 404, [{ code: 'not_found', detail: 'Not found.' }]);
      }
      const fieldErrors = toFieldErrors(error.validation as never);
      if (error.validationContext === 'querystring') {
        return sendError(
          request,
          reply,
          400,
          fieldErrors.map(({ pointer, ...rest }) => ({ ...rest, parameter: (pointer ?? '').split('/')[1] ?? '' })),
        );
      }
      return sendError(request, reply, 400, fieldErrors);
    }
    const known = frameworkError(error);
    if (known) return sendError(request, reply, known.status, known.errors);
    if (isDatabaseUnavailable(error)) {
      // The database restarts or fails over: nothing was done, and the same request will work soon.
      request.log.warn({ err: error }, 'database unavailable');
      reply.header('retry-after', '1');
      return sendError(request, reply, 503, [{ code: 'invalid', detail: 'The database is unavailable; try again shortly.' }]);
    }
    request.log.error({ err: error }, 'request failed');
    return sendError(request, reply, 500, [{ code: 'invalid', detail: 'Internal server error.' }]);
  });

  app.setNotFoundHandler((request, reply) =>
    sendError(request, reply, 404, [{ code: 'not_found', detail: 'Not found.' }]),
  );
}
