import type { Config } from '../../config.js';

/** The HERALD_KLAVIYO_* settings, plus the public URL Klaviyo sends the browser back to. */
export type KlaviyoSettings = Config['klaviyo'] & { publicUrl: string };

/**
 * The Klaviyo API revision every request is pinned to (`revision` header). Revisions are
 * date snapshots, each supported for two years; bump it deliberately after reading the
 * changelog, since the event body shape is tied to it.
 */
export const KLAVIYO_REVISION = '2026-04-15';

/** Writing events needs `events:write`; an event also creates or updates its profile. */
export const KLAVIYO_SCOPES = ['events:write', 'profiles:write'] as const;

/** Where Klaviyo redirects the browser: registered with the Klaviyo app as its redirect URI. */
export const CALLBACK_PATH = '/api/v3/event-subscriptions/connections/authorization/callback';

export function redirectUri(settings: KlaviyoSettings): string {
  return `${settings.publicUrl}${CALLBACK_PATH}`;
}

/** The variables an OAuth call needs but that are not set, by name, for error messages. */
export function missingClientSettings(settings: Config['klaviyo']): string[] {
  const missing: string[] = [];
  if (!settings.clientId) missing.push('HERALD_KLAVIYO_CLIENT_ID');
  if (!settings.clientSecret) missing.push('HERALD_KLAVIYO_CLIENT_SECRET');
  return missing;
}
