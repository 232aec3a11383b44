/**
 * Sealed values name their key, are bound to where they are stored, and a passphrase key is
 * stretched with the database's salt (not one unsalted SHA-256 as before).
 */
import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { deriveKey, rawKeyBytes } from '../../src/security/key-material.js';
import { Sealer, sealedKeyId } from '../../src/security/sealer.js';

const salt = randomBytes(16);
const at = { table: 'connections', column: 'auth_sealed', row: 7 };
const source = (text: string) => ({ text, origin: 'HERALD_SECRET_KEY' });

/** A value sealed the way Herald did before key ids: `v1.<iv>.<tag>.<ct>`, no associated data. */
function sealV1(key: Buffer, plain: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return ['v1', iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), body.toString('base64url')].join('.');
}

describe('sealer', () => {
  it('seals as v2.<kid>.<iv>.<tag>.<ciphertext> and opens it again', async () => {
    const key = await deriveKey(source(randomBytes(32).toString('base64')), salt);
    const sealer = new Sealer([key], key.kid);
    const sealed = sealer.seal('s3cret', at);
    const parts = sealed.split('.');
    expect(parts).toHaveLength(5);
    expect(parts[0]).toBe('v2');
    expect(parts[1]).toBe(key.kid);
    expect(sealedKeyId(sealed)).toBe(key.kid);
    expect(sealed).not.toContain('s3cret');
    expect(sealer.open(sealed, at)).toBe('s3cret');
  });

  it('binds a value to its table, column and row: moved anywhere else it does not open', async () => {
    const key = await deriveKey(source(randomBytes(32).toString('hex')), salt);
    const sealer = new Sealer([key], key.kid);
    const sealed = sealer.seal('{"token":"t"}', at);
    expect(() => sealer.open(sealed, { ...at, row: 8 })).toThrow();
    expect(() => sealer.open(sealed, { ...at, column: 'oauth_sealed' })).toThrow();
    expect(() => sealer.open(sealed, { ...at, table: 'oauth_states' })).toThrow();
    expect(sealer.open(sealed, at)).toBe('{"token":"t"}');
  });

  it('refuses a truncated authentication tag', async () => {
    const key = await deriveKey(source(randomBytes(32).toString('base64')), salt);
    const sealer = new Sealer([key], key.kid);
    const [v, kid, iv, tag, body] = sealer.seal('x', at).split('.');
    const short = Buffer.from(tag as string, 'base64url').subarray(0, 4).toString('base64url');
    expect(() => sealer.open([v, kid, iv, short, body].join('.'), at)).toThrow();
  });

  it('opens values under any key it holds, and names a key it lacks', async () => {
    const oldKey = await deriveKey(source(randomBytes(32).toString('base64')), salt);
    const newKey = await deriveKey(source(randomBytes(32).toString('base64')), salt);
    const before = new Sealer([oldKey], oldKey.kid).seal('under the old key', at);
    const both = new Sealer([newKey, oldKey], newKey.kid);
    expect(both.open(before, at)).toBe('under the old key');
    expect(sealedKeyId(both.seal('new', at))).toBe(newKey.kid);
    const onlyNew = new Sealer([newKey], newKey.kid);
    expect(() => onlyNew.open(before, at)).toThrow(new RegExp(`sealed under key ${oldKey.kid}.*HERALD_OLD_SECRET_KEYS`));
  });

  it('still opens v1 values sealed with the raw key or the SHA-256 of a passphrase', async () => {
    const raw = randomBytes(32);
    const rawKey = await deriveKey(source(raw.toString('base64')), salt);
    expect(new Sealer([rawKey], rawKey.kid).open(sealV1(raw, 'old raw'), at)).toBe('old raw');
    const phrase = 'correct horse battery staple';
    const phraseKey = await deriveKey(source(phrase), salt);
    const legacy = sealV1(createHash('sha256').update(phrase).digest(), 'old phrase');
    expect(new Sealer([phraseKey], phraseKey.kid).open(legacy, at)).toBe('old phrase');
    expect(() => new Sealer([rawKey], rawKey.kid).open(legacy, at)).toThrow(/v1 value/);
  });

  it('stretches a passphrase with scrypt and the salt: another salt, another key', async () => {
    const phrase = 'correct horse battery staple';
    expect(rawKeyBytes(phrase)).toBeUndefined();
    const a = await deriveKey(source(phrase), salt);
    const b = await deriveKey(source(phrase), randomBytes(16));
    expect(a.kid).not.toBe(b.kid);
    expect(a.check).not.toBe(b.check);
    expect(a.sealKey.equals(b.sealKey)).toBe(false);
    // Not the unsalted SHA-256 of before, nor anything that opens with it.
    const sha = createHash('sha256').update(phrase).digest();
    expect(a.sealKey.equals(sha)).toBe(false);
    const sealed = new Sealer([a], a.kid).seal('x', at);
    const shaOnly = { ...a, kid: a.kid, sealKey: sha };
    expect(() => new Sealer([shaOnly], a.kid).open(sealed, at)).toThrow();
    // The same passphrase and salt give the same key (every process derives it alike).
    expect((await deriveKey(source(phrase), salt)).check).toBe(a.check);
  });

  it('derives the sealing key from a 32-byte key with the salt (HKDF), never using it as is', async () => {
    const raw = randomBytes(32);
    const a = await deriveKey(source(raw.toString('hex')), salt);
    const b = await deriveKey(source(raw.toString('base64')), salt);
    expect(a.check).toBe(b.check); // hex and base64 of the same bytes are the same key
    expect(a.sealKey.equals(raw)).toBe(false);
    expect((await deriveKey(source(raw.toString('hex')), randomBytes(16))).sealKey.equals(a.sealKey)).toBe(false);
  });
});
