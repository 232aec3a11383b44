import { randomBytes } from 'node:crypto';
import type { BroadcastService } from '../../delivery/broadcast.js';
import { newSendkitSecret } from '../../security/signing.js';
import type { ConnectionRow } from '../../store/schema.js';
import type { Store } from '../../store/store.js';
import type { ConnectionHealthService } from '../connection-health.js';
import type { ConnectionService } from '../connections.js';
import { HeraldError, invalid, notFound } from '../errors.js';
import type { SubscriptionService } from '../subscriptions.js';
import { inSendkitTerms } from './field-errors.js';
import { type Webhook, type WebhookStatus, abbreviateSecret, toWebhook } from './webhook-resource.js';

export const DEFAULT_RETRY_ATTEMPTS = 3;
export const DEFAULT_TIMEOUT_MS = 10_000;

export interface NewWebhook {
  name: string;
  url: string;
  events: string[];
  secret?: string;
  retryAttempts?: number;
  timeoutMs?: number;
}

export type WebhookPatch = Partial<NewWebhook> & { status?: WebhookStatus };

export interface WebhookPage {
  data: Webhook[];
  pagination: { limit: number; total: number; hasMore: boolean; nextCursor: string | null };
}

export interface TestResult {
  /** null when no HTTP answer came (refused, timed out, blocked). */
  statusCode: number | null;
  delivered: boolean;
}

/** `_id`: 24 hex characters, like the MongoDB ids SendKit clients expect. */
const newPublicId = () => randomBytes(12).toString('hex');

function trimmedName(name: string): string {
  const trimmed = name.trim();
  if (trimmed === '') throw invalid('/name', 'This field may not be blank.');
  return trimmed;
}

/**
 * The SendKit `/v1/webhooks` dialect over Herald's engine: a webhook is a webhook connection
 * signed the SendKit way, plus one subscription per event name, so it is visible and
 * editable through v3 as well. Everything here delegates to the v3 services.
 */
export class WebhookService {
  constructor(
    private readonly store: Store,
    private readonly connections: ConnectionService,
    private readonly subscriptions: SubscriptionService,
    private readonly broadcast: BroadcastService,
    private readonly now: () => number = Date.now,
    private readonly health?: ConnectionHealthService,
  ) {}

  async create(organizationId: number, input: NewWebhook, createdBy: string): Promise<Webhook> {
    const name = trimmedName(input.name);
    const secret = input.secret ?? newSendkitSecret();
    const configuration = {
      url: input.url,
      retry_attempts: input.retryAttempts ?? DEFAULT_RETRY_ATTEMPTS,
      // Without one, the connector's default: 10 s, or HERALD_MAX_TIMEOUT_MS when that is lower.
      ...(input.timeoutMs !== undefined ? { timeout_ms: input.timeoutMs } : {}),
    };
    return inSendkitTerms(() =>
      this.store.transaction(async (tx) => {
        const row = await this.connections.create(
          organizationId,
          'webhook',
          configuration,
          { signatureScheme: 'sendkit', signingSecret: secret, publicId: newPublicId(), name, createdBy },
          tx,
        );
        for (const eventType of new Set(input.events)) {
          await this.subscriptions.create(organizationId, { connection_id: row.id, event_type: eventType }, tx);
        }
        // The only answer that shows the whole secret.
        return toWebhook(row, await tx.subscriptions.list(organizationId, { connectionId: row.id }), secret);
      }),
    );
  }

  async get(organizationId: number, publicId: string): Promise<Webhook> {
    const row = await this.find(this.store, organizationId, publicId);
    return this.render(this.store, row);
  }

  async list(organizationId: number, limit: number, afterId: number): Promise<WebhookPage> {
    const [rows, total] = await Promise.all([
      this.store.connections.pageWithPublicId(organizationId, afterId, limit + 1),
      this.store.connections.countWithPublicId(organizationId),
    ]);
    const hasMore = rows.length > limit;
    const shown = rows.slice(0, limit);
    const subscriptions = await this.store.subscriptions.forConnections(
      organizationId,
      shown.map((r) => r.id),
    );
    const last = shown[shown.length - 1];
    return {
      data: shown.map((row) =>
        toWebhook(
          row,
          subscriptions.filter((s) => s.connection_id === row.id),
          abbreviateSecret(this.connections.signingSecret(row)),
        ),
      ),
      pagination: { limit, total, hasMore, nextCursor: hasMore && last ? encodeCursor(last.id) : null },
    };
  }

  /**
   * Only the fields given change; `events` adds and removes subscriptions; `status` `inactive`
   * pauses them all, `disabled` disables the connection (endpoint health: its deliveries
   * wait), `active` resumes and enables it.
   */
  async update(organizationId: number, publicId: string, patch: WebhookPatch): Promise<Webhook> {
    const { status, ...rest } = patch;
    const updated = await this.#update(organizationId, publicId, status === 'disabled' ? rest : patch);
    if ((status !== 'disabled' && status !== 'active') || !this.health) return updated;
    const row = await this.find(this.store, organizationId, publicId);
    if (status === 'disabled') await this.health.disable(organizationId, row.id);
    else await this.health.enable(organizationId, row.id, true);
    return this.render(this.store, await this.find(this.store, organizationId, publicId));
  }

  async #update(organizationId: number, publicId: string, patch: WebhookPatch): Promise<Webhook> {
    const name = patch.name === undefined ? undefined : trimmedName(patch.name);
    const configuration: Record<string, unknown> = {};
    if (patch.url !== undefined) configuration.url = patch.url;
    if (patch.retryAttempts !== undefined) configuration.retry_attempts = patch.retryAttempts;
    if (patch.timeoutMs !== undefined) configuration.timeout_ms = patch.timeoutMs;
    return inSendkitTerms(() =>
      this.store.transaction(async (tx) => {
        const row = await this.find(tx, organizationId, publicId);
        // Always through update(): it validates, and bumps `updated_at`, which also drops the
        // delivery engine's cached copy of the connection.
        const updated = await this.connections.update(
          organizationId,
          row.id,
          Object.keys(configuration).length > 0 ? { configuration } : {},
          {
            ...(name !== undefined ? { name } : {}),
            ...(patch.secret !== undefined ? { signingSecret: patch.secret } : {}),
          },
          tx,
        );
        const current = await tx.subscriptions.list(organizationId, { connectionId: row.id });
        const active = patch.status !== undefined ? patch.status === 'active' : current.some((s) => s.is_active === 1);
        if (patch.events !== undefined) {
          const wanted = [...new Set(patch.events)];
          await tx.subscriptions.deleteForConnectionExcept(row.id, wanted);
          const existing = new Set(current.map((s) => s.event_type));
          for (const eventType of wanted.filter((e) => !existing.has(e))) {
            // New events follow the webhook's status: adding one to a paused webhook keeps it paused.
            await this.subscriptions.create(
              organizationId,
              { connection_id: row.id, event_type: eventType, is_active: active },
              tx,
            );
          }
        }
        if (patch.status !== undefined || patch.events !== undefined) await tx.signalRouting({ connections: [row.id] });
        if (patch.status !== undefined) {
          const now = Math.max(this.now(), updated.updated_at);
          const paused = current.filter((s) => s.is_active === 0).map((s) => s.id);
          await tx.subscriptions.setActiveForConnection(row.id, active, now);
          // Resumed: what waited while the webhook was paused is due now.
          if (active && (await tx.deliveries.unpark(paused, now)) > 0) await tx.signalDue();
        }
        return this.render(tx, updated);
      }),
    );
  }

  async delete(organizationId: number, publicId: string): Promise<void> {
    const row = await this.find(this.store, organizationId, publicId);
    // Subscriptions and their pending deliveries go with it (foreign keys cascade).
    await this.connections.delete(organizationId, row.id);
  }

  /** Sends a sample of the first event type once, as a test: not retried, not counted in stats. */
  async test(organizationId: number, publicId: string): Promise<TestResult> {
    const row = await this.find(this.store, organizationId, publicId);
    const [first] = await this.store.subscriptions.list(organizationId, { connectionId: row.id });
    if (!first) {
      // Possible only when every subscription was deleted through v3.
      throw new HeraldError(400, [{ code: 'invalid', detail: 'The webhook has no events to test.', pointer: '/events' }]);
    }
    const result = await this.broadcast.test(organizationId, first.id);
    return { statusCode: result.status_code === 0 ? null : result.status_code, delivered: result.success };
  }

  private async find(store: Store, organizationId: number, publicId: string): Promise<ConnectionRow> {
    // Another workspace's webhook answers exactly like a missing one.
    const row = await store.connections.byPublicId(organizationId, publicId.toLowerCase());
    if (!row) throw notFound();
    return row;
  }

  private async render(store: Store, row: ConnectionRow): Promise<Webhook> {
    const subscriptions = await store.subscriptions.list(row.organization_id, { connectionId: row.id });
    return toWebhook(row, subscriptions, abbreviateSecret(this.connections.signingSecret(row)));
  }
}

/** Cursors are opaque to clients: base64url of the last connection id (as `decodeCursor` in api/pagination reads). */
function encodeCursor(id: number): string {
  return Buffer.from(String(id)).toString('base64url');
}
