import type { Config } from '../config.js';
import type { OrganizationPatch } from '../domain/organizations.js';
import { withDatabase } from './context.js';

export function createOrganization(config: Config, name: string, externalId: string | undefined) {
  return withDatabase(config, async ({ organizations }) =>
    organizations.toResource(await organizations.create({ name, external_id: externalId ?? null })),
  );
}

/** Every organization, oldest first (`--external-id`: only that one). */
export function listOrganizations(config: Config, externalId: string | undefined) {
  return withDatabase(config, async ({ organizations }) => {
    const out: Array<Record<string, unknown>> = [];
    for (let after = 0; ; ) {
      const rows = await organizations.page(externalId !== undefined ? { externalId } : {}, after, 500);
      out.push(...rows.map((r) => organizations.toResource(r)));
      if (rows.length < 500) return out;
      after = (rows[rows.length - 1] as { id: number }).id;
    }
  });
}

export function updateOrganization(config: Config, id: number, patch: OrganizationPatch) {
  return withDatabase(config, async ({ organizations }) => organizations.toResource(await organizations.update(id, patch)));
}

/** Deletes it and everything it owns, in batches; prints what was removed, per table. */
export function deleteOrganization(config: Config, id: number) {
  return withDatabase(config, async ({ organizations }) => ({ deleted: id, removed: await organizations.delete(id) }));
}
