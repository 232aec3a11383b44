import type { ApiKeyRow, OrganizationStatus } from './schema.js';
import type { Executor } from './executor.js';

/** What authenticating with a key needs: the key, its expiry, and whether its organization is active. */
export interface ApiKeyCredential {
  id: number;
  organization_id: number;
  secret_hash: string;
  expires_at: number | null;
  last_used_at: number | null;
  organization_status: OrganizationStatus;
}

export class ApiKeys {
  constructor(private readonly db: Executor) {}

  insert(row: {
    organization_id: number;
    public_key: string;
    secret_hash: string;
    description: string | null;
    expires_at: number | null;
    now: number;
  }): Promise<ApiKeyRow> {
    const { now, ...values } = row;
    return this.db
      .insertInto('api_keys')
      .values({ ...values, last_used_at: null, created_at: now })
      .returningAll()
      .executeTakeFirstOrThrow();
  }

  /** Looked up on every authenticated request (no cache: a revoked key must fail in every process at once). */
  byPublicKey(publicKey: string): Promise<ApiKeyCredential | undefined> {
    return this.credentials().where('api_keys.public_key', '=', publicKey).executeTakeFirst();
  }

  bySecretHash(secretHash: string): Promise<ApiKeyCredential | undefined> {
    return this.credentials().where('api_keys.secret_hash', '=', secretHash).executeTakeFirst();
  }

  private credentials() {
    return this.db
      .selectFrom('api_keys')
      .innerJoin('organizations', 'organizations.id', 'api_keys.organization_id')
      .select([
        'api_keys.id',
        'api_keys.organization_id',
        'api_keys.secret_hash',
        'api_keys.expires_at',
        'api_keys.last_used_at',
        'organizations.status as organization_status',
      ]);
  }

  get(organizationId: number, id: number): Promise<ApiKeyRow | undefined> {
    return this.db
      .selectFrom('api_keys')
      .selectAll()
      .where('organization_id', '=', organizationId)
      .where('id', '=', id)
      .executeTakeFirst();
  }

  /** An organization's keys, oldest first, keyset-paginated on id (index api_keys_org). */
  page(organizationId: number, afterId: number, limit: number): Promise<ApiKeyRow[]> {
    return this.db
      .selectFrom('api_keys')
      .selectAll()
      .where('organization_id', '=', organizationId)
      .where('id', '>', afterId)
      .orderBy('id')
      .limit(limit)
      .execute();
  }

  /**
   * Revokes a key: the row goes, and with it (ON DELETE CASCADE) every access token minted
   * with it. `organizationId` undefined: whichever organization it belongs to (the CLI).
   * Answers the key's organization, or undefined when there was no such key.
   */
  async delete(id: number, organizationId?: number): Promise<number | undefined> {
    let query = this.db.deleteFrom('api_keys').where('id', '=', id);
    if (organizationId !== undefined) query = query.where('organization_id', '=', organizationId);
    const row = await query.returning('organization_id').executeTakeFirst();
    return row?.organization_id;
  }

  /**
   * Records a use, unless one was recorded less than `minGapMs` ago (by any process): one
   * write per key per minute at most, whatever the request rate.
   */
  async touch(id: number, now: number, minGapMs: number): Promise<void> {
    await this.db
      .updateTable('api_keys')
      .set({ last_used_at: now })
      .where('id', '=', id)
      .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<=', now - minGapMs)]))
      .execute();
  }

  /** Deletes up to `batch` keys of an organization (their tokens by cascade); returns how many. */
  async deleteForOrganization(organizationId: number, batch: number): Promise<number> {
    const some = this.db.selectFrom('api_keys').select('id').where('organization_id', '=', organizationId).limit(batch);
    const result = await this.db.deleteFrom('api_keys').where('id', 'in', some).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
