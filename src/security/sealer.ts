import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { DerivedKey } from './key-material.js';

/**
 * Where a sealed value lives. It is the value's associated data: a value copied to another
 * row, column or table does not open (a database writer cannot, say, move one connection's
 * credentials into another connection that delivers to their own URL).
 */
export interface SealedAt {
  table: string;
  column: string;
  /** The row's primary key. Herald seals only once it is known (inserts seal in a second statement). */
  row: string | number;
}

export class UnknownKeyError extends Error {
  readonly code = 'HERALD_UNKNOWN_KEY';
}

/**
 * AES-256-GCM for every secret Herald keeps (endpoint credentials, signing secrets, OAuth
 * tokens). Sealed text is `v2.<kid>.<iv>.<tag>.<ciphertext>` (base64url): `kid` names the key,
 * so that during a key rotation values under the old and the new key can be told apart and
 * both opened. `v1.<iv>.<tag>.<ciphertext>` values (no key id, no associated data) from before
 * are still opened; `herald secrets rotate-key` rewrites them.
 */
export class Sealer {
  readonly #keys = new Map<string, DerivedKey>();
  #primary: DerivedKey;

  constructor(keys: DerivedKey[], primaryKid: string) {
    for (const key of keys) if (!this.#keys.has(key.kid)) this.#keys.set(key.kid, key);
    const primary = this.#keys.get(primaryKid);
    if (!primary) throw new Error(`the sealing key ${primaryKid} is not among the keys given`);
    this.#primary = primary;
  }

  /** The key new values are sealed under. */
  get primaryKid(): string {
    return this.#primary.kid;
  }

  holds(kid: string): boolean {
    return this.#keys.has(kid);
  }

  add(key: DerivedKey): void {
    if (!this.#keys.has(key.kid)) this.#keys.set(key.kid, key);
  }

  /** Seal under this key from now on (a rotation switched it); false if this process lacks it. */
  usePrimary(kid: string): boolean {
    const key = this.#keys.get(kid);
    if (!key) return false;
    this.#primary = key;
    return true;
  }

  seal(plain: string, at: SealedAt): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#primary.sealKey, iv);
    cipher.setAAD(associatedData(at));
    const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return ['v2', this.#primary.kid, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), body.toString('base64url')].join('.');
  }

  open(sealed: string, at: SealedAt): string {
    const parts = sealed.split('.');
    if (parts[0] === 'v2' && parts.length === 5) {
      const key = this.#keys.get(parts[1] as string);
      if (!key) {
        throw new UnknownKeyError(
          `${at.table}.${at.column} of row ${at.row} is sealed under key ${parts[1]}, which this process was not given ` +
            '(HERALD_SECRET_KEY, HERALD_OLD_SECRET_KEYS)',
        );
      }
      return decrypt(key.sealKey, parts[2] as string, parts[3] as string, parts[4] as string, associatedData(at));
    }
    if (parts[0] === 'v1' && parts.length === 4) {
      // No key id: try every key this process holds, its own first.
      const keys = [this.#primary, ...[...this.#keys.values()].filter((k) => k !== this.#primary)];
      for (const key of keys) {
        try {
          return decrypt(key.legacyKey, parts[1] as string, parts[2] as string, parts[3] as string);
        } catch {
          // not this key
        }
      }
      throw new UnknownKeyError(`${at.table}.${at.column} of row ${at.row} (a v1 value) opens with none of this process's keys`);
    }
    throw new Error(`${at.table}.${at.column} of row ${at.row} is not a sealed value`);
  }

  sealJson(value: unknown, at: SealedAt): string {
    return this.seal(JSON.stringify(value), at);
  }

  openJson<T>(sealed: string, at: SealedAt): T {
    return JSON.parse(this.open(sealed, at)) as T;
  }
}

/** The key id of sealed text: `v1` for the old format. */
export function sealedKeyId(sealed: string): string {
  const [version, kid] = sealed.split('.');
  return version === 'v2' && kid ? kid : 'v1';
}

/** v1 values opened with one legacy key (used to check a key against a database from before). */
export function opensAsLegacy(sealed: string, legacyKey: Buffer): boolean {
  const parts = sealed.split('.');
  if (parts[0] !== 'v1' || parts.length !== 4) return false;
  try {
    decrypt(legacyKey, parts[1] as string, parts[2] as string, parts[3] as string);
    return true;
  } catch {
    return false;
  }
}

function associatedData(at: SealedAt): Buffer {
  return Buffer.from(`herald:${at.table}.${at.column}#${at.row}`, 'utf8');
}

function decrypt(key: Buffer, iv: string, tag: string, body: string, aad?: Buffer): string {
  // A full 16-byte tag only: GCM would otherwise accept a truncated one, which is easier to forge.
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'), { authTagLength: 16 });
  if (aad) decipher.setAAD(aad);
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
}
