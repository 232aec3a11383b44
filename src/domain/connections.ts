import type { Connector, ResolvedConnection, SignatureScheme, StoredConfig } from '../connectors/connector.js';
import type { ConnectorRegistry } from '../connectors/registry.js';
import {
  MAX_PREVIOUS_SECRETS,
  earliestExpiry,
  openAuth,
  openConfig,
  openSigningSecret,
  previousSecrets,
  sealColumns,
  sealPreviousSecrets,
  splitHeaders,
} from '../security/connection-secrets.js';
import type { Sealer } from '../security/sealer.js';
import { newSendkitSecret, newStandardSecret } from '../security/signing.js';
import type { ConnectionRow } from '../store/schema.js';
import { lockOrganizationCaps } from '../store/organization-caps.js';
import type { Store } from '../store/store.js';
import { HeraldError, notFound } from './errors.js';
import { healthFields } from './connection-health.js';
import { capReached } from './limits.js';
import { isoSeconds } from './time.js';

/** How long a rotated-out signing secret keeps signing alongside the new one. */
export const ROTATION_OVERLAP_MS = 24 * 3_600_000;

export interface CreateOptions {
  signatureScheme?: SignatureScheme;
  signingSecret?: string;
  publicId?: string;
  name?: string;
  createdBy?: string;
  status?: string;
}

export class ConnectionService {
  /** Decrypted connections for delivery, keyed by id and valid while `updated_at` matches. */
  readonly #resolved = new Map<number, ResolvedConnection>();

  constructor(
    private readonly store: Store,
    private readonly sealer: Sealer,
    private readonly connectors: ConnectorRegistry,
    private readonly now: () => number = Date.now,
    /** Every delivery's timeout is capped here (HERALD_MAX_TIMEOUT_MS): leases are sized to it. */
    private readonly maxTimeoutMs = 30_000,
    /** HERALD_MAX_CONNECTIONS_PER_ORG: a create beyond it is refused (400). */
    private readonly maxPerOrganization = Number.POSITIVE_INFINITY,
  ) {}

  connector(type: string): Connector {
    return this.connectors.get(type);
  }

  async create(
    organizationId: number,
    type: string,
    configuration: unknown,
    options: CreateOptions = {},
    store: Store = this.store,
  ): Promise<ConnectionRow> {
    const connector = this.connectors.get(type);
    const prepared = withPointerBase(() => connector.prepare(configuration));
    const stored = splitHeaders(prepared.config);
    const scheme = options.signatureScheme ?? 'standard';
    const secret = options.signingSecret ?? (scheme === 'sendkit' ? newSendkitSecret() : newStandardSecret());
    const now = this.now();
    const insert = (tx: Store) => tx.connections.insert({
      organization_id: organizationId,
      type,
      config: JSON.stringify(stored.config),
      // Sealed by the UPDATE below, in the same transaction, once the row id is known: each
      // sealed value is bound to its row (see SealedAt), so the insert cannot seal them yet.
      auth_sealed: null,
      signature_scheme: scheme,
      signing_secret_sealed: '',
      previous_secret_sealed: null,
      previous_secrets_sealed: null,
      previous_secret_expires_at: null,
      extra_headers_sealed: null,
      status: options.status ?? connector.initialStatus,
      status_reason: null,
      oauth_sealed: null,
      token_expires_at: null,
      public_id: options.publicId ?? null,
      name: options.name ?? null,
      created_by: options.createdBy ?? null,
      last_delivered_at: null,
      created_at: now,
      updated_at: now,
    });
    // Counted and inserted under the organization's cap lock: concurrent creates cannot overshoot.
    return store.transaction(async (tx) => {
      await lockOrganizationCaps(tx, organizationId);
      if ((await tx.connections.countForOrganization(organizationId)) >= this.maxPerOrganization) {
        throw capReached('connections', this.maxPerOrganization);
      }
      const row = await insert(tx);
      return tx.connections.update(
        row.id,
        sealColumns(this.sealer, row.id, { auth: prepared.auth, headers: stored.headers, signingSecret: secret }),
      );
    });
  }

  list(organizationId: number, type?: string): Promise<ConnectionRow[]> {
    return this.store.connections.list(organizationId, type);
  }

  async get(organizationId: number, id: number, store: Store = this.store): Promise<ConnectionRow> {
    const row = await store.connections.get(organizationId, id);
    if (!row) throw notFound();
    return row;
  }

  async update(
    organizationId: number,
    id: number,
    patch: { type?: string; configuration?: unknown },
    extra: Partial<Pick<ConnectionRow, 'name' | 'status'>> & { signingSecret?: string } = {},
    store: Store = this.store,
  ): Promise<ConnectionRow> {
    const row = await this.get(organizationId, id, store);
    if (patch.type !== undefined && patch.type !== row.type) {
      throw new HeraldError(400, [
        {
          code: 'invalid',
          detail: 'The type of a connection cannot be changed; create a new connection instead.',
          pointer: '/type',
        },
      ]);
    }
    const changes: Partial<ConnectionRow> = { updated_at: Math.max(this.now(), row.updated_at + 1) };
    if (patch.configuration !== undefined) {
      const connector = this.connectors.get(row.type);
      const existing: StoredConfig = { config: openConfig(this.sealer, row), auth: openAuth(this.sealer, row) };
      const prepared = withPointerBase(() => connector.prepare(patch.configuration, existing));
      const stored = splitHeaders(prepared.config);
      changes.config = JSON.stringify(stored.config);
      Object.assign(changes, sealColumns(this.sealer, row.id, { auth: prepared.auth, headers: stored.headers }));
      // A new configuration of a failing endpoint (a fixed URL, new credentials) is probed at
      // once rather than after the circuit's current wait, up to 10 minutes.
      if (row.health === 'failing') changes.probe_at = this.now();
    }
    if (extra.name !== undefined) changes.name = extra.name;
    if (extra.status !== undefined) changes.status = extra.status;
    if (extra.signingSecret !== undefined) {
      Object.assign(changes, sealColumns(this.sealer, row.id, { signingSecret: extra.signingSecret }));
    }
    return store.connections.update(row.id, changes);
  }

  async delete(organizationId: number, id: number): Promise<ConnectionRow> {
    const row = await this.get(organizationId, id);
    await this.store.connections.delete(organizationId, id);
    this.#resolved.delete(id);
    await this.store.signalRouting({ connections: [id] });
    // Best effort (e.g. revoking Klaviyo tokens): the deletion stands whatever it does.
    await this.connectors.get(row.type).onDelete?.(row).catch(() => undefined);
    return row;
  }

  toResource(row: ConnectionRow): Record<string, unknown> {
    // The connector's publicConfig masks what must not be shown (sensitive extra_headers).
    const config = openConfig(this.sealer, row);
    const resource: Record<string, unknown> = {
      id: row.id,
      type: row.type,
      configuration: this.connectors.get(row.type).publicConfig(config),
      // The endpoint's health unless the connection's own state (OAuth) says more.
      status: row.status === 'active' ? row.health : row.status,
      created_at: isoSeconds(row.created_at),
      updated_at: isoSeconds(row.updated_at),
      ...healthFields(row),
    };
    const reason = row.status === 'active' ? row.health_reason : row.status_reason;
    if (reason) resource.status_reason = reason;
    return resource;
  }

  signingSecret(row: ConnectionRow): string {
    return openSigningSecret(this.sealer, row);
  }

  /**
   * A new signing secret. Every rotated-out one keeps signing until its own expiry,
   * ROTATION_OVERLAP_MS after it was rotated out, however often the connection rotates; at
   * most MAX_PREVIOUS_SECRETS may be valid at once, and a rotation beyond that is refused
   * (dropping one early would break receivers that still verify with it). A SendKit
   * signature has room for one secret only, so its old secret stops at once.
   */
  async rotateSecret(organizationId: number, id: number): Promise<ConnectionRow> {
    const row = await this.get(organizationId, id);
    const now = this.now();
    const next = row.signature_scheme === 'sendkit' ? newSendkitSecret() : newStandardSecret();
    let previous: { secret: string; expires_at: number }[] = [];
    if (row.signature_scheme !== 'sendkit') {
      previous = previousSecrets(this.sealer, row, now);
      if (previous.length >= MAX_PREVIOUS_SECRETS) {
        const oldest = new Date(earliestExpiry(previous) as number).toISOString();
        throw new HeraldError(400, [
          {
            code: 'invalid',
            detail:
              `This connection already has ${MAX_PREVIOUS_SECRETS} rotated-out signing secrets that are still valid ` +
              `(each for 24 hours); the oldest expires at ${oldest}. Rotate again after that.`,
          },
        ]);
      }
      previous = [{ secret: this.signingSecret(row), expires_at: now + ROTATION_OVERLAP_MS }, ...previous];
    }
    return this.store.connections.update(row.id, {
      ...sealColumns(this.sealer, row.id, { signingSecret: next }),
      previous_secrets_sealed: sealPreviousSecrets(this.sealer, row.id, previous),
      previous_secret_sealed: null,
      previous_secret_expires_at: earliestExpiry(previous),
      updated_at: Math.max(now, row.updated_at + 1),
    });
  }

  /** Until when the secret just rotated out keeps signing (now, for SendKit-style secrets). */
  rotatedOutUntil(row: ConnectionRow): number {
    const [newest] = previousSecrets(this.sealer, row, this.now());
    return newest?.expires_at ?? row.updated_at;
  }

  /**
   * The current connections of these ids, decrypted, for the worker: it asks for a few
   * columns of each and reads (and decrypts) whole rows only of those that changed.
   * Deleted connections are absent; one that cannot be decrypted or parsed is its Error,
   * so that it fails only its own deliveries.
   */
  async resolveMany(ids: readonly number[]): Promise<Map<number, ResolvedConnection | Error>> {
    const now = this.now();
    const out = new Map<number, ResolvedConnection | Error>();
    const stale: number[] = [];
    for (const v of await this.store.connections.versions(ids)) {
      const cached = this.#current(v, now);
      if (cached) out.set(v.id, cached);
      else stale.push(v.id);
    }
    for (const row of await this.store.connections.byIds(stale)) {
      try {
        out.set(row.id, this.resolve(row));
      } catch (error) {
        out.set(row.id, error instanceof Error ? error : new Error(String(error)));
      }
    }
    return out;
  }

  #current(
    row: Pick<ConnectionRow, 'id' | 'updated_at' | 'previous_secret_expires_at'>,
    now: number,
  ): ResolvedConnection | undefined {
    const cached = this.#resolved.get(row.id);
    const previousValid = row.previous_secret_expires_at !== null && row.previous_secret_expires_at > now;
    if (cached && cached.updatedAt === row.updated_at && (cached.signingSecrets.length > 1) === previousValid) {
      return cached;
    }
    return undefined;
  }

  /**
   * The rotated-out secrets still valid, for signing. When the earliest of several expired,
   * `previous_secret_expires_at` (what #current compares) is moved on to the next expiry, once,
   * by whichever process sees it first; until then #current would miss on every claim.
   */
  #validPrevious(row: ConnectionRow, now: number): string[] {
    const valid = previousSecrets(this.sealer, row, now);
    const next = earliestExpiry(valid);
    const stored = row.previous_secret_expires_at;
    if (next !== null && stored !== null && stored <= now) {
      void this.store.db
        .updateTable('connections')
        .set({ previous_secret_expires_at: next })
        .where('id', '=', row.id)
        .where('previous_secret_expires_at', '=', stored)
        .execute()
        .catch(() => undefined); // the next resolve tries again
    }
    return valid.map((p) => p.secret);
  }

  /** Decrypts a connection for delivery, once per version of the row. */
  resolve(row: ConnectionRow): ResolvedConnection {
    const now = this.now();
    const cached = this.#current(row, now);
    if (cached) return cached;
    const config = openConfig(this.sealer, row);
    const connector = this.connectors.get(row.type);
    const secrets = [this.signingSecret(row), ...this.#validPrevious(row, now)];
    const resolved: ResolvedConnection = {
      id: row.id,
      organizationId: row.organization_id,
      type: row.type,
      updatedAt: row.updated_at,
      config,
      auth: openAuth(this.sealer, row),
      signatureScheme: row.signature_scheme as SignatureScheme,
      signingSecrets: secrets,
      tracksStats: row.public_id !== null,
      ...connector.limits(config),
    };
    resolved.timeoutMs = Math.min(resolved.timeoutMs, this.maxTimeoutMs);
    if (this.#resolved.size > 50_000) this.#resolved.clear();
    this.#resolved.set(row.id, resolved);
    return resolved;
  }
}

/** Connector pointers are relative to `configuration`; the API's are relative to the body. */
function withPointerBase<T>(fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (error instanceof HeraldError) {
      throw new HeraldError(
        error.status,
        error.errors.map((e) => (e.pointer !== undefined ? { ...e, pointer: `/configuration${e.pointer}` } : e)),
      );
    }
    throw error;
  }
}
