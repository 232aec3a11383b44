import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FieldError } from '../domain/errors.js';
import { isSendkitDialect, jsonApiErrors, sendkitError } from './errors.js';

type ClientError = Error & { code?: string; rawPacket?: unknown };

function classify(error: ClientError): { status: number; errors: FieldError[] } {
  switch (error.code) {
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, errors: [{ code: 'invalid', detail: 'The request line and headers are too large (the URL counts).' }] };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, errors: [{ code: 'invalid', detail: 'The request took too long to arrive.' }] };
    default:
      return { status: 400, errors: [{ code: 'invalid', detail: 'Malformed HTTP request.' }] };
  }
}

/**
 * Requests Node's HTTP parser refuses (a URL or headers past its size limit, a malformed
 * request line) never reach Fastify's error handler: they are answered here, in the
 * dialect of the path when the request line got that far (`rawPacket` starts with it),
 * else JSON:API. Replaces Fastify's default, whose `{error, message, statusCode}` is
 * neither dialect.
 */
export function clientErrorHandler(error: ClientError, socket: Socket): void {
  // A reset connection has nobody left to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const { status, errors } = classify(error);
  const packet = Buffer.isBuffer(error.rawPacket) ? error.rawPacket.subarray(0, 2048).toString('latin1') : '';
  const target = /^[A-Z]+ (\S+)/.exec(packet)?.[1] ?? '';
  const body = JSON.stringify(isSendkitDialect(target) ? sendkitError(status, errors) : jsonApiErrors(status, errors));
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}
