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
      ],
      censor: '[REDACTED]',
    },
  });
}
