import { lockOrganizationNames } from '../store/advisory-locks.js';
import type { OrganizationRow } from '../store/schema.js';
import type { Store } from '../store/store.js';
import { HeraldError } from './errors.js';

/** How many organizations of one name an ambiguity error lists. */
const LISTED = 5;

/**
 * The CLI's `--org <id|name>`: digits are an id first; otherwise (or when no organization has
 * that id) a name. Names are not unique: a name shared by several organizations is refused,
 * listing their ids. With `create`, a name that matches none creates the organization (what
 * `herald keys create --org <name>` always did); run it inside a transaction.
 */
export async function organizationByRef(
  tx: Store,
  ref: string,
  options: { create?: boolean; now?: number } = {},
): Promise<OrganizationRow> {
  const name = ref.trim();
  if (name === '') throw new HeraldError(400, [{ code: 'invalid', detail: 'The organization (an id or a name) is empty.' }]);
  if (/^[1-9][0-9]{0,15}$/.test(name)) {
    const byId = await tx.organizations.get(Number(name));
    if (byId) return byId;
  }
  if (options.create) await lockOrganizationNames(tx);
  const named = await tx.organizations.byName(name, LISTED + 1);
  if (named.length === 1) return named[0] as OrganizationRow;
  if (named.length > 1) {
    const ids = named.slice(0, LISTED).map((o) => o.id).join(', ');
    throw new HeraldError(400, [
      {
        code: 'invalid',
        detail: `Several organizations are named "${name}" (ids ${ids}${named.length > LISTED ? ', …' : ''}); give the id instead.`,
      },
    ]);
  }
  if (!options.create) throw new HeraldError(404, [{ code: 'not_found', detail: `No organization has the id or name "${name}".` }]);
  return tx.organizations.insert({ name, external_id: null, now: options.now ?? Date.now() });
}
