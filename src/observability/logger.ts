import { pino, type Logger } from 'pino';

/** JSON logs; credentials are redacted wherever they could appear. */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'herald' },
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers["x-api-key"]',
        'headers.authorization',
        '*.auth_config',
        'auth_config',
        '*.secret',
        '*.access_token',
        '*.refresh_token',
        // Request headers a receiver or client could put a credential in (extra_headers), in
        // whatever object a log line carries them.
        'req.headers.cookie',
        'req.headers["proxy-authorization"]',
        'headers["x-api-key"]',
        'headers.cookie',
        'extra_headers',
        '*.extra_headers',
        'request_headers',
        '*.request_headers',
        '*.signing_secret',
        '*.api_key',
        '*.password',
        '*.secret_key',
      ],
      censor: '[REDACTED]',
    },
  });
}
