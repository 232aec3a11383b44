import { createHash, createHmac, hkdfSync, randomBytes, scrypt } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Where a key came from, for error messages: never the key itself. */
export interface KeySource {
  text: string;
  /** e.g. `HERALD_SECRET_KEY`, `HERALD_OLD_SECRET_KEYS (1st)`, `--new-key-file /path`. */
  origin: string;
  /** Set when HERALD_SECRET_KEY was not given and the key came from `<data dir>/secret.key`. */
  keyFile?: string;
}

/** One secret key, derived for this database (see deriveKey). */
export interface DerivedKey {
  /** Key id: names the key in sealed text (`v2.<kid>.…`) and in the installation row. */
  kid: string;
  /** HMAC of a fixed label: proves a process holds the key without storing the key. */
  check: string;
  /** AES-256-GCM key of `v2.` values. */
  sealKey: Buffer;
  /** The key `v1.` values (before key checks existed) were sealed with. */
  legacyKey: Buffer;
  source: KeySource;
}

// scrypt at N=2^15, r=8: 32 MiB and ~0.1 s once per process start, which is what makes a
// guessed passphrase expensive to test against a stolen database.
const SCRYPT = { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };

/**
 * The keys a process was given, the one to use first first: HERALD_SECRET_KEY (or, without
 * it, the key file made once in the data folder), then HERALD_OLD_SECRET_KEYS in order.
 */
export function secretKeySources(secretKey: string | undefined, oldSecretKeys: string[], dataDir: string): KeySource[] {
  const sources: KeySource[] = [secretKey ? { text: secretKey, origin: 'HERALD_SECRET_KEY' } : keyFileSource(dataDir)];
  oldSecretKeys.forEach((text, i) => sources.push({ text, origin: `HERALD_OLD_SECRET_KEYS (key ${i + 1})` }));
  return sources;
}

function keyFileSource(dataDir: string): KeySource {
  const file = join(dataDir, 'secret.key');
  if (!existsSync(file)) {
    mkdirSync(dataDir, { recursive: true });
    try {
      writeFileSync(file, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
    } catch (error) {
      // Another process sharing the data folder made it first: use theirs.
      if ((error as { code?: string }).code !== 'EEXIST') throw error;
    }
  }
  chmodSync(file, 0o600);
  return { text: readFileSync(file, 'utf8').trim(), origin: `the generated key file ${file}`, keyFile: file };
}

/** 32 bytes given as 64 hex digits or base64; undefined for a passphrase. */
export function rawKeyBytes(text: string): Buffer | undefined {
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Buffer.from(text, 'hex');
  const b64 = Buffer.from(text, 'base64');
  if (b64.length === 32 && /^[A-Za-z0-9+/_-]+=*$/.test(text)) return b64;
  return undefined;
}

/**
 * A 32-byte key is used as it is; a passphrase is stretched with scrypt and the database's
 * salt, so a passphrase guess must be tried per database at scrypt's cost. Either way the
 * working keys come out of HKDF with that salt, one per purpose.
 */
export async function deriveKey(source: KeySource, salt: Buffer): Promise<DerivedKey> {
  const raw = rawKeyBytes(source.text);
  const root = raw ?? (await stretch(source.text, salt));
  const checkKey = Buffer.from(hkdfSync('sha256', root, salt, 'herald key check', 32));
  return {
    kid: createHmac('sha256', checkKey).update('herald key id').digest('hex').slice(0, 12),
    check: createHmac('sha256', checkKey).update('herald key check').digest('base64url'),
    sealKey: Buffer.from(hkdfSync('sha256', root, salt, 'herald seal v2', 32)),
    // v1 used the raw bytes, or one unsalted SHA-256 of a passphrase: kept to read old values.
    legacyKey: raw ?? createHash('sha256').update(source.text).digest(),
    source,
  };
}

function stretch(passphrase: string, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(passphrase, salt, 32, SCRYPT, (error, key) => (error ? reject(error) : resolve(key)));
  });
}
