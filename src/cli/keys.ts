import type { Config } from '../config.js';
import { ApiKeyService, keyResource } from '../domain/api-keys.js';
import { AuthService, type IssuedKey } from '../domain/auth.js';
import { organizationByRef } from '../domain/organization-ref.js';
import { withDatabase } from './context.js';

/**
 * `herald keys create --org <id|name>`: a key pair for the organization; a name that matches
 * none creates it (as the command always did).
 */
export function createKey(config: Config, organization: string, options: { description?: string; expiresAt?: number } = {}): Promise<IssuedKey> {
  return withDatabase(config, async ({ store }) => {
    if (options.description === undefined && options.expiresAt === undefined) {
      return new AuthService(store, config.tokenTtlSeconds).createKey(organization);
    }
    const org = await store.transaction((tx) => organizationByRef(tx, organization, { create: true }));
    const issued = await new ApiKeyService(store).create(org.id, {
      description: options.description ?? null,
      expiresAt: options.expiresAt ?? null,
    });
    return { organization_id: org.id, ...issued };
  });
}

/** `herald keys list --org <id|name>`: every key of the organization, oldest first, without secrets. */
export function listKeys(config: Config, organization: string) {
  return withDatabase(config, async ({ store }) => {
    const org = await organizationByRef(store, organization);
    const keys = new ApiKeyService(store);
    const out: Array<ReturnType<typeof keyResource> & { organization_id: number }> = [];
    for (let after = 0; ; ) {
      const rows = await keys.page(org.id, after, 500);
      out.push(...rows.map((r) => ({ organization_id: org.id, ...keyResource(r) })));
      if (rows.length < 500) return out;
      after = (rows[rows.length - 1] as { id: number }).id;
    }
  });
}

/** `herald keys revoke <key_id>`: the key and its access tokens answer 401 from now on, in every process. */
export function revokeKey(config: Config, keyId: number) {
  return withDatabase(config, async ({ store }) => {
    const organizationId = await new ApiKeyService(store).revoke(keyId);
    return { revoked: keyId, organization_id: organizationId };
  });
}
