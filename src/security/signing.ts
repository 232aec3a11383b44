import { createHmac, randomBytes } from 'node:crypto';

export function newStandardSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

export function newSendkitSecret(): string {
  return randomBytes(32).toString('hex');
}

/** The HMAC key of a Standard Webhooks secret: the bytes after `whsec_`. */
export function standardKey(secret: string): Buffer {
  return Buffer.from(secret.startsWith('whsec_') ? secret.slice(6) : secret, 'base64');
}

/** `v1,<base64>` per Standard Webhooks: HMAC-SHA256 over `id.timestamp.body`. */
export function standardSignature(key: Buffer, messageId: string, timestamp: number, body: string): string {
  return `v1,${createHmac('sha256', key).update(`${messageId}.${timestamp}.`).update(body).digest('base64')}`;
}

/** SendKit style: lowercase hex HMAC-SHA256 of the raw body, keyed with the secret string. */
export function sendkitSignature(secret: string, body: string): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}
