import type { Executor } from './store.js';

export class OauthStates {
  constructor(private readonly db: Executor) {}

  async insert(row: {
    state_hash: string;
    organization_id: number;
    connection_id: number;
    verifier_sealed: string;
    expires_at: number;
  }): Promise<void> {
    await this.db
      .insertInto('oauth_states')
      .values({ ...row, used_at: null })
      .execute();
  }

  find(stateHash: string) {
    return this.db.selectFrom('oauth_states').selectAll().where('state_hash', '=', stateHash).executeTakeFirst();
  }

  /** Marks the state used; false when another request used it first (single use). */
  async consume(stateHash: string, now: number): Promise<boolean> {
    const result = await this.db
      .updateTable('oauth_states')
      .set({ used_at: now })
      .where('state_hash', '=', stateHash)
      .where('used_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) === 1;
  }

  async deleteExpired(now: number): Promise<void> {
    await this.db.deleteFrom('oauth_states').where('expires_at', '<', now).execute();
  }
}
