/**
 * Delay before the retry that follows failed attempt number `attempt` (1-based): the
 * schedule's entry (its last one repeats), with ±20 % jitter so that a recovering endpoint
 * is not hit by every retry at the same instant.
 */
export function backoffMs(attempt: number, schedule: readonly number[], random: () => number = Math.random): number {
  const base = schedule[Math.min(attempt - 1, schedule.length - 1)] ?? 0;
  return Math.round(base * (0.8 + 0.4 * random()));
}
