import { useSyncExternalStore } from 'react';

/**
 * Screens live in the URL's hash (#/connections/3), so one page at /portal serves them all,
 * links can be bookmarked and the iframe's history works, with no server route per screen.
 */
export interface Route {
  path: string;
  query: URLSearchParams;
}

const subscribe = (onChange: () => void) => {
  window.addEventListener('hashchange', onChange);
  return () => window.removeEventListener('hashchange', onChange);
};

const hash = () => window.location.hash.replace(/^#/, '') || '/connections';

export function useRoute(): Route {
  const current = useSyncExternalStore(subscribe, hash);
  const [path = '/connections', query = ''] = current.split('?');
  return { path, query: new URLSearchParams(query) };
}

export function navigate(to: string): void {
  window.location.hash = to;
}

/** `/connections/12` against `/connections/:id` → { id: '12' }, or null. */
export function match(pattern: string, path: string): Record<string, string> | null {
  const names: string[] = [];
  const re = new RegExp(`^${pattern.replace(/:(\w+)/g, (_m, name: string) => (names.push(name), '([^/]+)'))}$`);
  const found = re.exec(path);
  if (!found) return null;
  return Object.fromEntries(names.map((n, i) => [n, decodeURIComponent(found[i + 1] ?? '')]));
}
