import { setImmediate as nextTurn } from 'node:timers/promises';
import { isUniqueViolation } from '../store/errors.js';
import type { ConnectionRow, OrganizationRow } from '../store/schema.js';
import type { Store } from '../store/store.js';
import { HeraldError, invalid } from './errors.js';
import { type PurgeCounts, purgeOrganization } from './organization-purge.js';
import { isoSeconds } from './time.js';

export const MAX_ORGANIZATION_NAME = 200;
export const MAX_EXTERNAL_ID = 255;
/** Parked deliveries made due per transaction when an organization is active again. */
export const RESUME_BATCH = 1000;
/** Connection ids per routing NOTIFY (PostgreSQL payloads stay far below their 8000 bytes). */
const ROUTING_CHUNK = 200;

export interface OrganizationInput {
  name: string;
  external_id?: string | null;
}

export interface OrganizationPatch {
  name?: string;
  status?: 'active' | 'suspended';
}

function checkName(name: string): void {
  if (name.trim() === '') throw invalid('/name', 'This field may not be blank.');
  if (name.length > MAX_ORGANIZATION_NAME) {
    throw invalid('/name', `Ensure this field has no more than ${MAX_ORGANIZATION_NAME} characters.`);
  }
}

/** 404 naming the id: the operator knows which organizations exist (tenants get a bare "Not found."). */
export const organizationNotFound = (id: number) =>
  new HeraldError(404, [{ code: 'not_found', detail: `No organization has the id ${id}.` }]);

const duplicateExternalId = (externalId: string) =>
  new HeraldError(409, [
    { code: 'invalid', detail: `An organization with external_id "${externalId}" already exists.`, pointer: '/external_id' },
  ]);

/**
 * Organizations (tenants), as the operator manages them. Suspending one makes its keys and
 * tokens fail (domain/auth.ts) and its deliveries wait: the worker parks each as it comes due
 * (delivery/dispatcher.ts), as for a paused subscription, and activating it again makes them
 * due in batches.
 */
export class OrganizationService {
  constructor(
    private readonly store: Store,
    /** Wakes this process's workers when parked deliveries became due. */
    private readonly resumed: () => void = () => undefined,
    /**
     * What a connection's deletion does outside the database (Klaviyo: revoke its tokens), best
     * effort. The CLI has no connectors (no HTTP client, no key to open the tokens): it skips it.
     */
    private readonly connectionDeleted: (row: ConnectionRow) => Promise<void> = async () => undefined,
    private readonly now: () => number = Date.now,
  ) {}

  async create(input: OrganizationInput): Promise<OrganizationRow> {
    checkName(input.name);
    const externalId = input.external_id ?? null;
    if (externalId !== null && (externalId === '' || externalId.length > MAX_EXTERNAL_ID)) {
      throw invalid('/external_id', `Ensure this field has 1 to ${MAX_EXTERNAL_ID} characters.`);
    }
    try {
      return await this.store.transaction((tx) => tx.organizations.insert({ name: input.name, external_id: externalId, now: this.now() }));
    } catch (error) {
      if (isUniqueViolation(error) && externalId !== null) throw duplicateExternalId(externalId);
      throw error;
    }
  }

  page(filter: { externalId?: string }, afterId: number, limit: number): Promise<OrganizationRow[]> {
    return this.store.organizations.page(filter, afterId, limit);
  }

  async get(id: number): Promise<OrganizationRow> {
    const row = Number.isSafeInteger(id) ? await this.store.organizations.get(id) : undefined;
    if (!row) throw organizationNotFound(id);
    return row;
  }

  /**
   * Renames, suspends or activates. Suspending also tells every worker (NOTIFY on PostgreSQL)
   * to give back the organization's jobs still waiting in its lanes, so that they park instead
   * of going out. Setting `active` (again, too) resumes every parked delivery of its active
   * subscriptions: run it again if it was interrupted.
   */
  async update(id: number, patch: OrganizationPatch): Promise<OrganizationRow> {
    if (patch.name !== undefined) checkName(patch.name);
    const row = await this.store.transaction(async (tx) => {
      const before = await tx.organizations.get(id);
      if (!before) throw organizationNotFound(id);
      const updated = await tx.organizations.update(id, {
        ...(patch.name !== undefined ? { name: patch.name } : {}),
        ...(patch.status !== undefined ? { status: patch.status } : {}),
        updated_at: Math.max(this.now(), before.updated_at + 1),
      });
      if (!updated) throw organizationNotFound(id);
      if (before.status === 'active' && updated.status === 'suspended') await this.signalConnections(tx, id);
      return updated;
    });
    if (patch.status === 'active') await this.resume(id);
    return row;
  }

  /** Makes the parked deliveries of an active organization's active subscriptions due, in batches. */
  private async resume(id: number): Promise<number> {
    let total = 0;
    for (;;) {
      const now = this.now();
      const resumed = await this.store.transaction((tx) => tx.deliveries.unparkForOrganization(id, now, RESUME_BATCH));
      total += resumed;
      if (resumed > 0) {
        await this.store.signalDue();
        this.resumed();
      }
      if (resumed < RESUME_BATCH) return total;
      await nextTurn();
    }
  }

  private async signalConnections(tx: Store, id: number): Promise<void> {
    const connections = await tx.connections.idsForOrganization(id);
    for (let i = 0; i < connections.length; i += ROUTING_CHUNK) {
      await tx.signalRouting({ connections: connections.slice(i, i + ROUTING_CHUNK) });
    }
  }

  /**
   * Deletes the organization and everything it owns. It disappears at once (404, its keys
   * fail, its deliveries stop); its rows then go in bounded batches (organization-purge.ts).
   */
  async delete(id: number, options: { signal?: AbortSignal; onRemoved?: (table: string, rows: number) => void } = {}): Promise<PurgeCounts> {
    if (!Number.isSafeInteger(id)) throw organizationNotFound(id);
    await this.store.transaction(async (tx) => {
      if (!(await tx.organizations.markDeleting(id, this.now()))) throw organizationNotFound(id);
      await this.signalConnections(tx, id);
    });
    for (const row of await this.store.connections.list(id)) await this.connectionDeleted(row).catch(() => undefined);
    const counts = await purgeOrganization(this.store, id, options);
    if (!counts) throw new Error(`the deletion of organization ${id} was interrupted; the next maintenance pass finishes it`);
    return counts;
  }

  toResource(row: OrganizationRow): Record<string, unknown> {
    return {
      id: row.id,
      name: row.name,
      external_id: row.external_id,
      status: row.status,
      created_at: isoSeconds(row.created_at),
      updated_at: isoSeconds(row.updated_at),
    };
  }
}
