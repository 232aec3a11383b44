import type { ConnectionRow } from '../store/schema.js';
import { connectionColumn } from './sealed-columns.js';
import type { Sealer } from './sealer.js';

/**
 * How a connection's secrets sit in its row: `auth_sealed` (auth_config), `extra_headers_sealed`
 * (the `extra_headers` values; `config` keeps their names as `extra_header_names`),
 * `signing_secret_sealed`, and `previous_secrets_sealed` (rotated-out signing secrets with
 * their expiries). Every value is sealed bound to its column and row id.
 */

/** At most this many rotated-out signing secrets are valid at once (see rotateSecret). */
export const MAX_PREVIOUS_SECRETS = 5;

export interface PreviousSecret {
  secret: string;
  expires_at: number;
}

/** A prepared `config` split into what is stored in the clear and the header values to seal. */
export function splitHeaders(config: Record<string, unknown>): { config: Record<string, unknown>; headers: Record<string, string> | null } {
  if (config.extra_headers === undefined) return { config, headers: null };
  const { extra_headers: headers, ...rest } = config as { extra_headers: Record<string, string> };
  const names = Object.keys(headers);
  return { config: { ...rest, extra_header_names: names }, headers: names.length > 0 ? headers : null };
}

/** The row's `config` with `extra_headers` as name → value again. */
export function openConfig(sealer: Sealer, row: ConnectionRow): Record<string, unknown> {
  const config = JSON.parse(row.config) as Record<string, unknown>;
  if (!('extra_header_names' in config)) return config; // none, or (before 0005) stored in the clear
  const { extra_header_names: _names, ...rest } = config;
  const headers = row.extra_headers_sealed
    ? sealer.openJson<Record<string, string>>(row.extra_headers_sealed, connectionColumn('extra_headers_sealed', row.id))
    : {};
  return { ...rest, extra_headers: headers };
}

export function openAuth(sealer: Sealer, row: ConnectionRow): Record<string, string> | null {
  return row.auth_sealed ? sealer.openJson<Record<string, string>>(row.auth_sealed, connectionColumn('auth_sealed', row.id)) : null;
}

export function openSigningSecret(sealer: Sealer, row: ConnectionRow): string {
  return sealer.open(row.signing_secret_sealed, connectionColumn('signing_secret_sealed', row.id));
}

/** The sealed columns of a row from their plain values (undefined: not changed). */
export function sealColumns(
  sealer: Sealer,
  id: number,
  values: { auth?: Record<string, string> | null; headers?: Record<string, string> | null; signingSecret?: string },
): Partial<Pick<ConnectionRow, 'auth_sealed' | 'extra_headers_sealed' | 'signing_secret_sealed'>> {
  const out: Partial<Pick<ConnectionRow, 'auth_sealed' | 'extra_headers_sealed' | 'signing_secret_sealed'>> = {};
  if (values.auth !== undefined) {
    out.auth_sealed = values.auth ? sealer.sealJson(values.auth, connectionColumn('auth_sealed', id)) : null;
  }
  if (values.headers !== undefined) {
    out.extra_headers_sealed = values.headers ? sealer.sealJson(values.headers, connectionColumn('extra_headers_sealed', id)) : null;
  }
  if (values.signingSecret !== undefined) {
    out.signing_secret_sealed = sealer.seal(values.signingSecret, connectionColumn('signing_secret_sealed', id));
  }
  return out;
}

/** Rotated-out signing secrets still valid at `now`, newest first. */
export function previousSecrets(sealer: Sealer, row: ConnectionRow, now: number): PreviousSecret[] {
  const out: PreviousSecret[] = [];
  if (row.previous_secrets_sealed) {
    const list = sealer.openJson<PreviousSecret[]>(row.previous_secrets_sealed, connectionColumn('previous_secrets_sealed', row.id));
    out.push(...list.filter((p) => p.expires_at > now));
  } else if (row.previous_secret_sealed && row.previous_secret_expires_at !== null && row.previous_secret_expires_at > now) {
    // Rotated before migration 0005: one previous secret, its expiry in the clear column.
    out.push({
      secret: sealer.open(row.previous_secret_sealed, connectionColumn('previous_secret_sealed', row.id)),
      expires_at: row.previous_secret_expires_at,
    });
  }
  return out.sort((a, b) => b.expires_at - a.expires_at);
}

export function sealPreviousSecrets(sealer: Sealer, id: number, list: PreviousSecret[]): string | null {
  return list.length > 0 ? sealer.sealJson(list, connectionColumn('previous_secrets_sealed', id)) : null;
}

/** What `previous_secret_expires_at` holds: the earliest expiry among the still-valid ones. */
export function earliestExpiry(list: PreviousSecret[]): number | null {
  return list.length > 0 ? Math.min(...list.map((p) => p.expires_at)) : null;
}
