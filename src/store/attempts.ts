import type { AttemptRow, NewAttempt } from './schema.js';
import type { Executor } from './store.js';

export class Attempts {
  constructor(private readonly db: Executor) {}

  async insertMany(rows: NewAttempt[]): Promise<void> {
    for (let i = 0; i < rows.length; i += 2000) {
      await this.db
        .insertInto('attempts')
        .values(rows.slice(i, i + 2000))
        .execute();
    }
  }

  forDelivery(deliveryId: number): Promise<AttemptRow[]> {
    return this.db.selectFrom('attempts').selectAll().where('delivery_id', '=', deliveryId).orderBy('id').execute();
  }
}
