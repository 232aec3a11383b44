import type { Connector, ResolvedConnection, SignatureScheme, StoredConfig } from '../connectors/connector.js';
import type { ConnectorRegistry } from '../connectors/registry.js';
import type { Sealer } from '../security/sealer.js';
import { newSendkitSecret, newStandardSecret } from '../security/signing.js';
import type { ConnectionRow } from '../store/schema.js';
import type { Store } from '../store/store.js';
import { HeraldError, notFound } from './errors.js';
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
    const scheme = options.signatureScheme ?? 'standard';
    const secret = options.signingSecret ?? (scheme === 'sendkit' ? newSendkitSecret() : newStandardSecret());
    const now = this.now();
    return store.connections.insert({
      organization_id: organizationId,
      type,
      config: JSON.stringify(prepared.config),
      auth_sealed: prepared.auth ? this.sealer.sealJson(prepared.auth) : null,
      signature_scheme: scheme,
      signing_secret_sealed: this.sealer.seal(secret),
      previous_secret_sealed: null,
      previous_secret_expires_at: null,
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
      const existing: StoredConfig = {
        config: JSON.parse(row.config) as Record<string, unknown>,
        auth: row.auth_sealed ? this.sealer.openJson<Record<string, string>>(row.auth_sealed) : null,
      };
      const prepared = withPointerBase(() => connector.prepare(patch.configuration, existing));
      changes.config = JSON.stringify(prepared.config);
      changes.auth_sealed = prepared.auth ? this.sealer.sealJson(prepared.auth) : null;
    }
    if (extra.name !== undefined) changes.name = extra.name;
    if (extra.status !== undefined) changes.status = extra.status;
    if (extra.signingSecret !== undefined) changes.signing_secret_sealed = this.sealer.seal(extra.signingSecret);
    return store.connections.update(row.id, changes);
  }

  async delete(organizationId: number, id: number): Promise<ConnectionRow> {
    const row = await this.get(organizationId, id);
    await this.store.connections.delete(organizationId, id);
    this.#resolved.delete(id);
    // Best effort (e.g. revoking Klaviyo tokens): the deletion stands whatever it does.
    await this.connectors.get(row.type).onDelete?.(row).catch(() => undefined);
    return row;
  }

  toResource(row: ConnectionRow): Record<string, unknown> {
    const config = JSON.parse(row.config) as Record<string, unknown>;
    const resource: Record<string, unknown> = {
      id: row.id,
      type: row.type,
      configuration: this.connectors.get(row.type).publicConfig(config),
      status: row.status,
      created_at: isoSeconds(row.created_at),
      updated_at: isoSeconds(row.updated_at),
    };
    if (row.status_reason) resource.status_reason = row.status_reason;
    return resource;
  }

  signingSecret(row: ConnectionRow): string {
    return this.sealer.open(row.signing_secret_sealed);
  }

  /** A new signing secret; the old one keeps signing for ROTATION_OVERLAP_MS. */
  async rotateSecret(organizationId: number, id: number): Promise<ConnectionRow> {
    const row = await this.get(organizationId, id);
    const now = this.now();
    const next = row.signature_scheme === 'sendkit' ? newSendkitSecret() : newStandardSecret();
    return this.store.connections.update(row.id, {
      signing_secret_sealed: this.sealer.seal(next),
      previous_secret_sealed: row.signing_secret_sealed,
      previous_secret_expires_at: now + ROTATION_OVERLAP_MS,
      updated_at: Math.max(now, row.updated_at + 1),
    });
  }

  /**
   * The current connections of these ids, decrypted, for the worker: it asks for a few
   * columns of each and reads (and decrypts) whole rows only of those that changed.
   * Deleted connections are absent.
   */
  async resolveMany(ids: readonly number[]): Promise<Map<number, ResolvedConnection>> {
    const now = this.now();
    const out = new Map<number, ResolvedConnection>();
    const stale: number[] = [];
    for (const v of await this.store.connections.versions(ids)) {
      const cached = this.#current(v, now);
      if (cached) out.set(v.id, cached);
      else stale.push(v.id);
    }
    for (const row of await this.store.connections.byIds(stale)) out.set(row.id, this.resolve(row));
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

  /** Decrypts a connection for delivery, once per version of the row. */
  resolve(row: ConnectionRow): ResolvedConnection {
    const now = this.now();
    const cached = this.#current(row, now);
    if (cached) return cached;
    const previousValid = row.previous_secret_expires_at !== null && row.previous_secret_expires_at > now;
    const config = JSON.parse(row.config) as Record<string, unknown>;
    const connector = this.connectors.get(row.type);
    const secrets = [this.sealer.open(row.signing_secret_sealed)];
    if (previousValid && row.previous_secret_sealed) secrets.push(this.sealer.open(row.previous_secret_sealed));
    const resolved: ResolvedConnection = {
      id: row.id,
      organizationId: row.organization_id,
      type: row.type,
      updatedAt: row.updated_at,
      config,
      auth: row.auth_sealed ? this.sealer.openJson<Record<string, string>>(row.auth_sealed) : null,
      signatureScheme: row.signature_scheme as SignatureScheme,
      signingSecrets: secrets,
      tracksStats: row.public_id !== null,
      ...connector.limits(config),
    };
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
