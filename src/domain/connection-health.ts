import type { Logger } from 'pino';
import { type HealthRules, MAX_PROBE_INTERVAL_MS } from '../config.js';
import type { HealthRow } from '../store/connection-health.js';
import type { ConnectionHealth } from '../store/schema.js';
import type { Store } from '../store/store.js';
import { notFound } from './errors.js';
import type { OperationalType } from './event-types/operational.js';
import { type OperatorTarget, writeOperationalEvent } from './operational-events.js';
import { isoSeconds } from './time.js';

/** Rows each poll of the monitor looks at, per kind of transition. */
const POLL_LIMIT = 100;
/** Parked deliveries let go (or skipped) per statement: short transactions, others keep going. */
const BACKLOG_BATCH = 1000;
const EXHAUSTED_EVERY_MS = 3_600_000;

const CLOSED = { probe_at: null, probe_interval_ms: null, probe_delivery_id: null } as const;

/**
 * Endpoint health, in one sentence per rule:
 * - after `circuitFailures` failed attempts in a row a connection's circuit opens (`failing`):
 *   its deliveries wait, unattempted, and one probe (its oldest waiting delivery) goes out
 *   after `probeIntervalMs`, then after twice as long each time it fails, up to 10 minutes;
 * - a successful attempt closes it (`active`) and the waiting deliveries go out;
 * - a connection whose every attempt failed for `disableAfterMs` is `disabled`: nothing goes
 *   out and its deliveries wait until it is enabled;
 * - each change writes one operational event in the transaction that makes it.
 * Every change is a compare-and-set on the connection row, so with many workers exactly one
 * makes it (and writes its event).
 */
export class ConnectionHealthService {
  constructor(
    private readonly store: Store,
    private readonly rules: HealthRules,
    private readonly logger: Pick<Logger, 'info' | 'warn'>,
    private readonly operator: () => OperatorTarget | undefined = () => undefined,
    private readonly now: () => number = Date.now,
  ) {}

  /** One pass of the monitor: every transition that is due. True when deliveries became due. */
  async tick(): Promise<boolean> {
    let due = false;
    await this.#openCircuits();
    await this.#disableLongFailures();
    due = (await this.#closeOrProbe()) || due;
    due = (await this.#releaseBacklogs()) || due;
    await this.#reportExhausted();
    return due;
  }

  async #openCircuits(): Promise<void> {
    const threshold = this.rules.circuitFailures;
    if (threshold <= 0) return;
    for (const row of await this.store.health.streaksAtLeast(threshold, POLL_LIMIT)) {
      const now = this.now();
      const interval = this.rules.probeIntervalMs;
      await this.#transition(row, ['active'], 'herald.connection.failing', {
        health: 'failing',
        health_reason: `${row.consecutive_failures} consecutive failed attempts`,
        probe_at: now + interval,
        probe_interval_ms: interval,
        probe_delivery_id: null,
      }, { minStreak: threshold });
    }
  }

  async #disableLongFailures(): Promise<void> {
    const after = this.rules.disableAfterMs;
    if (after <= 0) return;
    for (const row of await this.store.health.failingSince(this.now() - after, POLL_LIMIT)) {
      await this.#transition(row, ['active', 'failing'], 'herald.connection.disabled', {
        health: 'disabled',
        health_reason: `every attempt failed for ${describe(after)}`,
        disabled_at: this.now(),
        ...CLOSED,
      }, { minStreak: 1 }, { trigger: 'automatic' });
    }
  }

  /** Open circuits: a success closed them, or a probe is due. */
  async #closeOrProbe(): Promise<boolean> {
    let due = false;
    for (const row of await this.store.health.openCircuits(POLL_LIMIT)) {
      const now = this.now();
      if (row.consecutive_failures === 0) {
        await this.#transition(row, ['failing'], 'herald.connection.recovered', {
          health: 'active',
          health_reason: null,
          release_backlog: 1,
          ...CLOSED,
        }, { streak: 0 });
        due = true;
        continue;
      }
      if (row.probe_at === null || row.probe_at > now) continue;
      const probe = await this.store.health.oldestWaiting(row.id);
      const interval = row.probe_interval_ms ?? this.rules.probeIntervalMs;
      // Without a delivery to send, no probe went out: the wait does not grow.
      const next = probe === undefined ? interval : Math.min(MAX_PROBE_INTERVAL_MS, interval * 2);
      const taken = await this.store.transaction(async (tx) => {
        const after = await tx.health.transition(
          row.id,
          ['failing'],
          { probe_at: now + next, probe_interval_ms: next, probe_delivery_id: probe ?? null },
          { probeAt: row.probe_at },
        );
        if (after && probe !== undefined) await tx.health.unparkOne(probe, now);
        return after !== undefined && probe !== undefined;
      });
      if (taken) {
        this.logger.info({ connection_id: row.id, delivery_id: probe, next_probe_in_ms: next }, 'circuit open: probing');
        due = true;
      }
    }
    return due;
  }

  async #releaseBacklogs(): Promise<boolean> {
    let due = false;
    for (const { id } of await this.store.health.backlogsToRelease(POLL_LIMIT)) {
      const released = await this.store.health.settleParked(id, this.now(), BACKLOG_BATCH);
      if (released > 0) due = true;
      if (released < BACKLOG_BATCH) {
        await this.store.db.updateTable('connections').set({ release_backlog: 0 }).where('id', '=', id).where('release_backlog', '=', 1).execute();
      }
    }
    return due;
  }

  async #reportExhausted(): Promise<void> {
    for (const row of await this.store.health.exhaustedToReport(this.now() - EXHAUSTED_EVERY_MS, POLL_LIMIT)) {
      const count = row.exhausted_count;
      await this.store.transaction(async (tx) => {
        const now = this.now();
        const after = await tx.health
          .transition(row.id, ['active', 'failing', 'disabled'], { exhausted_count: 0, exhausted_reported_at: now }, {
            exhausted: count,
          });
        if (!after) return;
        await this.#event(tx, after, 'herald.delivery.exhausted', { count }, now);
      });
    }
  }

  /** Disables by hand (200 with the connection; disabling a disabled one changes nothing). */
  async disable(organizationId: number, id: number): Promise<void> {
    const row = await this.#owned(organizationId, id);
    if (row.health === 'disabled') return;
    await this.#transition(row, ['active', 'failing'], 'herald.connection.disabled', {
      health: 'disabled',
      health_reason: 'disabled by hand',
      disabled_at: this.now(),
      ...CLOSED,
    }, {}, { trigger: 'manual' });
  }

  /**
   * Enables by hand: the connection is `active` with a fresh streak. Its waiting deliveries go
   * out (`deliverBacklog`), or fail with "skipped on enable" — skipped in batches while it is
   * still disabled, so none of them can go out meanwhile.
   */
  async enable(organizationId: number, id: number, deliverBacklog: boolean): Promise<void> {
    const row = await this.#owned(organizationId, id);
    if (row.health === 'active') return;
    if (!deliverBacklog) {
      while ((await this.store.health.settleParked(id, this.now(), BACKLOG_BATCH, SKIPPED)) === BACKLOG_BATCH) {
        // Each batch is its own short transaction.
      }
    }
    await this.store.transaction(async (tx) => {
      const now = this.now();
      const after = await tx.health.transition(id, ['disabled', 'failing'], {
        health: 'active',
        health_reason: null,
        consecutive_failures: 0,
        failing_since: null,
        disabled_at: null,
        release_backlog: deliverBacklog ? 1 : 0,
        ...CLOSED,
      });
      if (!after) return;
      if (!deliverBacklog) await tx.health.settleParked(id, now, BACKLOG_BATCH, SKIPPED);
      await this.#event(tx, after, 'herald.connection.enabled', { trigger: 'manual' }, now);
      await tx.signalRouting({ connections: [id] });
    });
  }

  async #owned(organizationId: number, id: number): Promise<HealthRow> {
    const row = await this.store.connections.get(organizationId, id);
    if (!row) throw notFound();
    return row;
  }

  /** A compare-and-set and its event, in one transaction. */
  async #transition(
    row: HealthRow,
    from: ConnectionHealth[],
    type: OperationalType,
    changes: Parameters<Store['health']['transition']>[2],
    guard: Parameters<Store['health']['transition']>[3] = {},
    extra: Record<string, unknown> = {},
  ): Promise<void> {
    await this.store.transaction(async (tx) => {
      const now = this.now();
      const after = await tx.health.transition(row.id, from, changes, guard);
      if (!after) return;
      await this.#event(tx, after, type, extra, now);
      // Jobs of this connection waiting in workers' lanes go back (and come back parked).
      if (after.health !== 'active') await tx.signalRouting({ connections: [row.id] });
    });
  }

  async #event(tx: Store, row: HealthRow, type: OperationalType, extra: Record<string, unknown>, now: number): Promise<void> {
    const data = { ...operationalData(row, now), ...extra };
    await writeOperationalEvent(tx, { organizationId: row.organization_id, connectionId: row.id, type, data }, this.operator(), now);
    this.logger.info({ organization_id: row.organization_id, connection_id: row.id, event_type: type, status: row.health, reason: row.health_reason, ...extra }, 'connection health changed');
  }
}

const SKIPPED = 'skipped on enable';

/** The `data` of an operational event about a connection. */
export function operationalData(row: HealthRow, now: number): Record<string, unknown> {
  const lastAt = Math.max(row.last_failure_at ?? 0, row.last_success_at ?? 0);
  return {
    organization_id: row.organization_id,
    connection_id: row.id,
    status: row.health,
    reason: row.health_reason,
    failing_since: row.failing_since === null ? null : isoSeconds(row.failing_since),
    consecutive_failures: row.consecutive_failures,
    last_attempt: lastAt === 0 ? null : { status_code: row.last_attempt_status, error: row.last_attempt_error, at: isoSeconds(lastAt) },
    occurred_at: isoSeconds(now),
  };
}

/** The health fields of a connection resource (both dialects). */
export function healthFields(row: HealthRow): Record<string, unknown> {
  const iso = (ms: number | null) => (ms === null ? null : isoSeconds(ms));
  return {
    failing_since: iso(row.failing_since),
    consecutive_failures: row.consecutive_failures,
    last_success_at: iso(row.last_success_at),
    last_failure_at: iso(row.last_failure_at),
    disabled_at: iso(row.disabled_at),
  };
}

function describe(ms: number): string {
  const units: Array<[number, string]> = [[86_400_000, 'd'], [3_600_000, 'h'], [60_000, 'm'], [1000, 's']];
  for (const [size, unit] of units) if (ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}
