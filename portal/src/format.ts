import type { Connection } from './api/types';

export const when = (iso: string | null | undefined): string => (iso ? new Date(iso).toLocaleString() : '—');

export const percent = (rate: number | null | undefined): string =>
  rate === null || rate === undefined ? '—' : `${Math.round(rate * 1000) / 10}%`;

export function connectionUrl(connection: Connection): string {
  const url = (connection.configuration as { url?: unknown }).url;
  return connection.type === 'webhook' && typeof url === 'string' ? url : 'Klaviyo account';
}

/** An ISO time as a datetime-local input's value (local time, minutes). */
export function toLocalInput(ms: number): string {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60_000);
  return d.toISOString().slice(0, 16);
}

export function fromLocalInput(value: string): string | undefined {
  if (!value) return undefined;
  const ms = new Date(value).getTime();
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}
