import type { Config } from '../../config.js';
import type { HttpClient } from '../http-client.js';
import { missingClientSettings } from './settings.js';

const TIMEOUT_MS = 10_000;
const DEFAULT_EXPIRES_IN_S = 3600;

/** Tokens as Klaviyo's token endpoint answers them. */
export interface IssuedTokens {
  accessToken: string;
  /** Klaviyo rotates refresh tokens; absent only if it chose to keep the old one. */
  refreshToken: string | undefined;
  expiresInMs: number;
}

/**
 * The token endpoint said no. `code` is the OAuth error (`invalid_grant` means the code or
 * refresh token is expired, used or revoked); never carries a token.
 */
export class TokenEndpointError extends Error {
  constructor(
    message: string,
    readonly status: number | null,
    readonly code: string | undefined,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }
}

/** HERALD_KLAVIYO_CLIENT_ID / _SECRET are not set: an operator's problem, not the connection's. */
export class KlaviyoNotConfiguredError extends Error {
  constructor(readonly missing: string[]) {
    super(`Klaviyo OAuth is not configured on this server: set ${missing.join(' and ')}.`);
  }
}

/**
 * Klaviyo's OAuth endpoints on a.klaviyo.com: form-encoded bodies, the client authenticated
 * with HTTP Basic (client_id:client_secret), as Klaviyo's "Set up OAuth" guide requires.
 */
export class KlaviyoOAuthClient {
  constructor(
    private readonly http: HttpClient,
    private readonly settings: Config['klaviyo'],
  ) {}

  exchangeCode(code: string, verifier: string, redirectUri: string): Promise<IssuedTokens> {
    return this.#token({ grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: redirectUri });
  }

  refresh(refreshToken: string): Promise<IssuedTokens> {
    return this.#token({ grant_type: 'refresh_token', refresh_token: refreshToken });
  }

  /** Revoking the refresh token ends the whole grant, its access tokens included. */
  async revoke(refreshToken: string): Promise<void> {
    const res = await this.#post(this.settings.revokeUrl, { token: refreshToken, token_type_hint: 'refresh_token' });
    if (res.status < 200 || res.status >= 300) throw endpointError('revoke', res.status, res.body);
  }

  async #token(form: Record<string, string>): Promise<IssuedTokens> {
    const res = await this.#post(this.settings.tokenUrl, form);
    if (res.status !== 200) throw endpointError('token', res.status, res.body, res.retryAfterMs);
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(res.body) as Record<string, unknown>;
    } catch {
      throw new TokenEndpointError('Klaviyo token endpoint answered 200 without JSON', 200, undefined);
    }
    const { access_token: access, refresh_token: refresh, expires_in: expiresIn } = parsed;
    if (typeof access !== 'string' || access === '') {
      throw new TokenEndpointError('Klaviyo token endpoint answered without an access_token', 200, undefined);
    }
    return {
      accessToken: access,
      refreshToken: typeof refresh === 'string' && refresh !== '' ? refresh : undefined,
      expiresInMs: (typeof expiresIn === 'number' && expiresIn > 0 ? expiresIn : DEFAULT_EXPIRES_IN_S) * 1000,
    };
  }

  #post(url: string, form: Record<string, string>) {
    const missing = missingClientSettings(this.settings);
    if (missing.length > 0) throw new KlaviyoNotConfiguredError(missing);
    const basic = Buffer.from(`${this.settings.clientId}:${this.settings.clientSecret}`).toString('base64');
    return this.http.send(
      'POST',
      url,
      {
        authorization: `Basic ${basic}`,
        'content-type': 'application/x-www-form-urlencoded',
        accept: 'application/json',
      },
      new URLSearchParams(form).toString(),
      TIMEOUT_MS,
    );
  }
}

/** `{"error": "invalid_grant", "error_description": "…"}` into a message fit for logs and pages. */
function endpointError(which: string, status: number, body: string, retryAfterMs?: number): TokenEndpointError {
  let code: string | undefined;
  let description: string | undefined;
  try {
    const parsed = JSON.parse(body) as { error?: unknown; error_description?: unknown };
    if (typeof parsed.error === 'string') code = parsed.error.slice(0, 64);
    if (typeof parsed.error_description === 'string') description = parsed.error_description.slice(0, 200);
  } catch {
    // not JSON (e.g. an HTML error page): the status says enough
  }
  const detail = code ? ` (${code}${description ? `: ${description}` : ''})` : '';
  return new TokenEndpointError(`Klaviyo ${which} endpoint answered ${status}${detail}`, status, code, retryAfterMs);
}
