import { hashToken, randomToken } from '../security/tokens.js';
import type { ApiKeyRow } from '../store/schema.js';
import type { Store } from '../store/store.js';
import { HeraldError, invalid } from './errors.js';
import { organizationNotFound } from './organizations.js';
import { isoSeconds } from './time.js';

export const MAX_KEY_DESCRIPTION = 500;

export interface ApiKeyInput {
  description?: string | null;
  /** Epoch ms; must be in the future. */
  expiresAt?: number | null;
}

/** A key as the admin API and the CLI show it; `secret_key` only in the answer that created it. */
export interface ApiKeyResource {
  id: number;
  public_key: string;
  secret_key?: string;
  description: string | null;
  created_at: string;
  expires_at: string | null;
  last_used_at: string | null;
}

export function keyResource(row: ApiKeyRow): ApiKeyResource {
  return {
    id: row.id,
    public_key: row.public_key,
    description: row.description,
    created_at: isoSeconds(row.created_at),
    expires_at: row.expires_at === null ? null : isoSeconds(row.expires_at),
    last_used_at: row.last_used_at === null ? null : isoSeconds(row.last_used_at),
  };
}

function checkInput(input: ApiKeyInput, now: number): void {
  if (input.description != null && input.description.length > MAX_KEY_DESCRIPTION) {
    throw invalid('/description', `Ensure this field has no more than ${MAX_KEY_DESCRIPTION} characters.`);
  }
  if (input.expiresAt != null && !(input.expiresAt > now)) {
    throw invalid('/expires_at', 'The expiry must be in the future.');
  }
}

/** A new key pair for the organization, inside the caller's transaction. The secret exists only in this answer. */
export async function issueKey(tx: Store, organizationId: number, input: ApiKeyInput, now: number): Promise<ApiKeyResource & { secret_key: string }> {
  checkInput(input, now);
  const secretKey = randomToken('sk_', 32);
  const row = await tx.apiKeys.insert({
    organization_id: organizationId,
    public_key: randomToken('pk_', 18),
    secret_hash: hashToken(secretKey),
    description: input.description ?? null,
    expires_at: input.expiresAt ?? null,
    now,
  });
  return { ...keyResource(row), secret_key: secretKey };
}

/** The operator's keys: issue, list (never a secret), revoke. */
export class ApiKeyService {
  constructor(
    private readonly store: Store,
    private readonly now: () => number = Date.now,
  ) {}

  private async organization(tx: Store, organizationId: number): Promise<void> {
    if (!(await tx.organizations.get(organizationId))) throw organizationNotFound(organizationId);
  }

  create(organizationId: number, input: ApiKeyInput): Promise<ApiKeyResource & { secret_key: string }> {
    const now = this.now();
    checkInput(input, now);
    return this.store.transaction(async (tx) => {
      await this.organization(tx, organizationId);
      return issueKey(tx, organizationId, input, now);
    });
  }

  /** Oldest first after the key id `afterId`; `limit` rows (ask one more to know whether a page follows). */
  async page(organizationId: number, afterId: number, limit: number): Promise<ApiKeyRow[]> {
    await this.organization(this.store, organizationId);
    return this.store.apiKeys.page(organizationId, afterId, limit);
  }

  /**
   * Revokes a key: it and every access token minted with it answer 401 from the moment this
   * returns, in every process (credentials are looked up per request, never cached).
   * `organizationId` undefined: the key of whichever organization (the CLI). Answers the organization's id.
   */
  async revoke(keyId: number, organizationId?: number): Promise<number> {
    const missing = () => new HeraldError(404, [{ code: 'not_found', detail: `No API key has the id ${keyId}${organizationId === undefined ? '' : ' in this organization'}.` }]);
    if (!Number.isSafeInteger(keyId) || keyId < 1) throw missing();
    const owner = await this.store.transaction(async (tx) => {
      if (organizationId !== undefined) await this.organization(tx, organizationId);
      return tx.apiKeys.delete(keyId, organizationId);
    });
    if (owner === undefined) throw missing();
    return owner;
  }
}
