import type { Selectable } from 'kysely';
import type { OrganizationStatus, PortalSessionsTable } from './schema.js';
import type { Executor } from './executor.js';

export type PortalSessionRow = Selectable<PortalSessionsTable>;

/** A signed-in session with its organization's status (a suspended organization's sessions stop at once). */
export type PortalSessionCredential = PortalSessionRow & { organization_status: OrganizationStatus };

export class PortalSessions {
  constructor(private readonly db: Executor) {}

  async insert(row: Omit<PortalSessionRow, 'id'>): Promise<void> {
    await this.db.insertInto('portal_sessions').values(row).execute();
  }

  /**
   * Spends a sign-in token: the one statement that sets `session_hash` succeeds for one
   * caller only (a second use of the token, even concurrent, finds `signed_in_at` set).
   */
  async signIn(tokenHash: string, sessionHash: string, now: number): Promise<PortalSessionRow | undefined> {
    return this.db
      .updateTable('portal_sessions')
      .set({ session_hash: sessionHash, signed_in_at: now })
      .where('token_hash', '=', tokenHash)
      .where('signed_in_at', 'is', null)
      .where('expires_at', '>', now)
      .returningAll()
      .executeTakeFirst();
  }

  /** The session a cookie names, if still valid at `now` (index on session_hash). */
  bySession(sessionHash: string, now: number): Promise<PortalSessionCredential | undefined> {
    return this.db
      .selectFrom('portal_sessions')
      .innerJoin('organizations', 'organizations.id', 'portal_sessions.organization_id')
      .selectAll('portal_sessions')
      .select('organizations.status as organization_status')
      .where('portal_sessions.session_hash', '=', sessionHash)
      .where('portal_sessions.expires_at', '>', now)
      .executeTakeFirst();
  }

  /** Sign-out: the cookie's session ends now. */
  async end(sessionHash: string): Promise<void> {
    await this.db.deleteFrom('portal_sessions').where('session_hash', '=', sessionHash).execute();
  }

  /** Deletes up to `batch` expired sessions (index portal_sessions_expires); returns how many. */
  async deleteExpired(now: number, batch: number): Promise<number> {
    const expired = this.db.selectFrom('portal_sessions').select('id').where('expires_at', '<=', now).limit(batch);
    const result = await this.db.deleteFrom('portal_sessions').where('id', 'in', expired).executeTakeFirst();
    return Number(result.numDeletedRows);
  }
}
