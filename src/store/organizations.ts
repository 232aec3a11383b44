import type { Executor } from './store.js';

export class Organizations {
  constructor(private readonly db: Executor) {}

  async findOrCreate(name: string, now: number): Promise<number> {
    await this.db
      .insertInto('organizations')
      .values({ name, created_at: now })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute();
    const row = await this.db.selectFrom('organizations').select('id').where('name', '=', name).executeTakeFirstOrThrow();
    return row.id;
  }
}
