import type { SealedAt } from './sealer.js';

/** A table with sealed columns, and the primary key each value is bound to. */
export interface SealedTable {
  table: 'connections' | 'oauth_states' | 'installation';
  key: string;
  columns: readonly string[];
}

/** Every column that holds sealed text: what `herald secrets rotate-key` rewrites. */
export const SEALED_TABLES: readonly SealedTable[] = [
  {
    table: 'connections',
    key: 'id',
    columns: ['auth_sealed', 'signing_secret_sealed', 'previous_secret_sealed', 'previous_secrets_sealed', 'oauth_sealed', 'extra_headers_sealed'],
  },
  { table: 'oauth_states', key: 'state_hash', columns: ['verifier_sealed'] },
  { table: 'installation', key: 'id', columns: ['webhook_id_salt_sealed'] },
];

/** `connections.<column>` of one row. */
export function connectionColumn(column: string, id: number): SealedAt {
  return { table: 'connections', column, row: id };
}
