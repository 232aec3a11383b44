import type { Executor } from './executor.js';

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

  /** Deletes up to `batch` expired states (index oauth_states_expires); returns how many. */
  async deleteExpired(now: number, batch: number): Promise<number> {
    const expired = this.db.selectFrom('oauth_states').select('state_hash').where('expires_at', '<', now).limit(batch);
    const result = await this.db.deleteFrom('oauth_states').where('state_hash', 'in', expired).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
