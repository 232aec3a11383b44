import { createHash } from 'node:crypto';
import type { Store } from '../store/store.js';
import type { AuthService } from './auth.js';
import { isoSeconds } from './time.js';
import { hashToken, randomToken } from '../security/tokens.js';

/** What a portal session may do besides looking (`view`, always granted), after Svix's model. */
export const CAPABILITIES = ['view', 'manage_connections', 'view_secrets', 'manage_secrets', 'retry'] as const;
export type Capability = (typeof CAPABILITIES)[number];

export const DEFAULT_SESSION_SECONDS = 3600;
export const MAX_SESSION_SECONDS = 7 * 86_400;
/** A person who signs in with the key pair on the sign-in page gets a working day. */
export const KEY_PAIR_SESSION_SECONDS = 8 * 3600;

export interface PortalTheme {
  accent_color?: string;
  logo_url?: string;
  dark?: boolean;
}

export interface MintedSession {
  url: string;
  token: string;
  expires_at: string;
}

/** A signed-in session, as every portal request sees it. */
export interface PortalPrincipal {
  organizationId: number;
  capabilities: ReadonlySet<Capability>;
  theme: PortalTheme;
  expiresAt: number;
  /** The value cookie-authenticated writes must send in `X-CSRF-Token`. */
  csrfToken: string;
}

/**
 * The CSRF token of a session is derived from its cookie, so it needs no storage: only a page
 * that could read `/portal/api/session` (same origin: the cookie's own) learns it.
 */
export const csrfTokenOf = (cookie: string) => createHash('sha256').update(`herald-portal-csrf:${cookie}`).digest('base64url');

/**
 * Portal sessions. The admin API mints one with a single-use sign-in token; spending it
 * opens the session, whose cookie value is a second random token. Both are stored as hashes
 * only. Every request looks its cookie up (indexed), joined with the organization, as keys
 * are: an expired session or a suspended organization stops at once, in every process.
 */
export class PortalSessionService {
  constructor(
    private readonly store: Store,
    private readonly auth: AuthService,
    private readonly publicUrl: string,
    private readonly now: () => number = Date.now,
  ) {}

  async mint(organizationId: number, input: { capabilities?: Capability[]; expires_in?: number; theme?: PortalTheme }): Promise<MintedSession> {
    const now = this.now();
    const expiresAt = now + (input.expires_in ?? DEFAULT_SESSION_SECONDS) * 1000;
    const token = randomToken('hps_', 32);
    const capabilities = [...new Set<Capability>(['view', ...(input.capabilities ?? [])])];
    await this.store.portalSessions.insert({
      organization_id: organizationId,
      token_hash: hashToken(token),
      session_hash: null,
      capabilities: JSON.stringify(capabilities),
      theme: JSON.stringify(input.theme ?? {}),
      created_at: now,
      signed_in_at: null,
      expires_at: expiresAt,
    });
    const url = `${this.publicUrl.replace(/\/$/, '')}/portal/sign-in?token=${encodeURIComponent(token)}`;
    return { url, token, expires_at: isoSeconds(expiresAt) };
  }

  /** Spends a sign-in token: the new session's cookie value, or undefined (unknown, used or expired). */
  async signInWithToken(token: string): Promise<{ cookie: string; expiresAt: number } | undefined> {
    const cookie = randomToken('hpc_', 32);
    const row = await this.store.portalSessions.signIn(hashToken(token), hashToken(cookie), this.now());
    return row ? { cookie, expiresAt: row.expires_at } : undefined;
  }

  /** The sign-in page's key pair: a session with every capability, or undefined. */
  async signInWithKeyPair(publicKey: string, secretKey: string): Promise<{ cookie: string; expiresAt: number } | undefined> {
    const key = await this.auth.keyPair(publicKey, secretKey);
    if (!key) return undefined;
    const now = this.now();
    const cookie = randomToken('hpc_', 32);
    const expiresAt = now + KEY_PAIR_SESSION_SECONDS * 1000;
    await this.store.portalSessions.insert({
      organization_id: key.organizationId,
      // Never a sign-in token: the hash of a value nobody holds.
      token_hash: hashToken(randomToken('hps_', 32)),
      session_hash: hashToken(cookie),
      capabilities: JSON.stringify(CAPABILITIES),
      theme: '{}',
      created_at: now,
      signed_in_at: now,
      expires_at: expiresAt,
    });
    return { cookie, expiresAt };
  }

  async authenticate(cookie: string): Promise<PortalPrincipal | undefined> {
    const row = await this.store.portalSessions.bySession(hashToken(cookie), this.now());
    if (!row || row.organization_status !== 'active') return undefined;
    return {
      organizationId: row.organization_id,
      capabilities: new Set(JSON.parse(row.capabilities) as Capability[]),
      theme: JSON.parse(row.theme) as PortalTheme,
      expiresAt: row.expires_at,
      csrfToken: csrfTokenOf(cookie),
    };
  }

  async signOut(cookie: string): Promise<void> {
    await this.store.portalSessions.end(hashToken(cookie));
  }
}
