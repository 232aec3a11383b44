/**
 * What changed about where deliveries go: a subscription paused, moved or deleted, a
 * connection deleted or its subscriptions switched off. Workers drop the jobs of these from
 * their lanes (a job claimed before the change would otherwise go out after it).
 */
export interface RoutingChange {
  subscriptions?: number[];
  connections?: number[];
}

/** Listeners of routing changes in this process; told only once the change is committed. */
export class RoutingSignals {
  readonly #listeners = new Set<(change: RoutingChange) => void>();

  on(listener: (change: RoutingChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  emit(change: RoutingChange): void {
    for (const listener of this.#listeners) listener(change);
  }
}

/** The NOTIFY payload that carries a change to other processes (PostgreSQL). */
export function routingPayload(change: RoutingChange): string {
  return JSON.stringify({ routing: change });
}

export function parseRoutingPayload(payload: string | undefined): RoutingChange | undefined {
  if (!payload) return undefined;
  try {
    const parsed = JSON.parse(payload) as { routing?: RoutingChange };
    return parsed.routing;
  } catch {
    return undefined;
  }
}
