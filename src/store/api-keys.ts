import type { Executor } from './store.js';

export interface ApiKeyRecord {
  id: number;
  organization_id: number;
  secret_hash: string;
}

export class ApiKeys {
  constructor(private readonly db: Executor) {}

  async insert(organizationId: number, publicKey: string, secretHash: string, now: number): Promise<void> {
    await this.db
      .insertInto('api_keys')
      .values({ organization_id: organizationId, public_key: publicKey, secret_hash: secretHash, created_at: now })
      .execute();
  }

  byPublicKey(publicKey: string): Promise<ApiKeyRecord | undefined> {
    return this.db
      .selectFrom('api_keys')
      .select(['id', 'organization_id', 'secret_hash'])
      .where('public_key', '=', publicKey)
      .executeTakeFirst();
  }

  bySecretHash(secretHash: string): Promise<ApiKeyRecord | undefined> {
    return this.db
      .selectFrom('api_keys')
      .select(['id', 'organization_id', 'secret_hash'])
      .where('secret_hash', '=', secretHash)
      .executeTakeFirst();
  }
}
