import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** A random credential with a readable prefix, e.g. `sk_…`. */
export function randomToken(prefix: string, bytes = 24): string {
  return `${prefix}${randomBytes(bytes).toString('base64url')}`;
}

/**
 * Credentials Herald issues carry 192+ bits of entropy, so a plain SHA-256 is a safe
 * one-way store and lets the key be found by its hash (the SendKit dialect sends only
 * the secret). A slow password hash would add nothing but latency on every request.
 */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function sameHash(a: string, b: string): boolean {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return x.length === y.length && timingSafeEqual(x, y);
}
