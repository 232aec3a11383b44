import type { Executor } from './store.js';

export class AccessTokens {
  constructor(private readonly db: Executor) {}

  async insert(tokenHash: string, apiKeyId: number, organizationId: number, expiresAt: number): Promise<void> {
    await this.db
      .insertInto('access_tokens')
      .values({ token_hash: tokenHash, api_key_id: apiKeyId, organization_id: organizationId, expires_at: expiresAt })
      .execute();
  }

  async organizationOf(tokenHash: string, now: number): Promise<number | undefined> {
    const row = await this.db
      .selectFrom('access_tokens')
      .select('organization_id')
      .where('token_hash', '=', tokenHash)
      .where('expires_at', '>', now)
      .executeTakeFirst();
    return row?.organization_id;
  }

  async deleteExpired(now: number): Promise<void> {
    await this.db.deleteFrom('access_tokens').where('expires_at', '<=', now).execute();
  }
}
