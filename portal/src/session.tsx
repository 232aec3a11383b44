import { createContext, useContext } from 'react';
import type { Capability, Session } from './api/types';

export const SessionContext = createContext<Session | null>(null);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside a signed-in page');
  return session;
}

/** What the session may do; the page hides the rest (the server refuses it anyway, 403). */
export function useCan(): (capability: Capability) => boolean {
  const session = useSession();
  return (capability) => session.capabilities.includes(capability);
}
