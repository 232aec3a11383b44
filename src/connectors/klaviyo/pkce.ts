import { createHash, randomBytes } from 'node:crypto';

/** RFC 7636: 43–128 characters of [A-Za-z0-9-._~]; 64 random bytes give 86. */
export function newVerifier(): string {
  return randomBytes(64).toString('base64url');
}

/** S256: base64url(sha256(verifier)), no padding. */
export function challengeOf(verifier: string): string {
  return createHash('sha256').update(verifier, 'ascii').digest('base64url');
}

/** The `state` the browser carries: unguessable, single-use, stored only as its hash. */
export function newState(): string {
  return randomBytes(32).toString('base64url');
}

export function hashState(state: string): string {
  return createHash('sha256').update(state, 'utf8').digest('hex');
}
