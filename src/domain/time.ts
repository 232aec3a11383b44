/** ISO 8601 in UTC without milliseconds, as the reference API writes times. */
export function isoSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** ISO 8601 with milliseconds (the SendKit dialect). */
export function isoMillis(ms: number): string {
  return new Date(ms).toISOString();
}
