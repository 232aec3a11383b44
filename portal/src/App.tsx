import { Anchor, Container, Group, Image, Loader, MantineProvider, Text, Button } from '@mantine/core';
import { useEffect, useState } from 'react';
import { api, setCsrfToken, setSignedOutHandler } from './api/client';
import type { Session } from './api/types';
import { useRoute } from './router';
import { Screens } from './Screens';
import { SessionContext } from './session';
import { SignIn } from './screens/SignIn';
import { mantineTheme } from './theme';

const params = new URLSearchParams(window.location.search);
/** ?embed=1: the platform frames the portal in its own panel, which has its own header. */
const embedded = params.get('embed') === '1';

const NAV = [
  ['#/connections', 'Connections'],
  ['#/deliveries', 'Deliveries'],
  ['#/catalog', 'Event catalog'],
] as const;

export function App() {
  const [session, setSession] = useState<Session | null | undefined>(undefined);
  const [message, setMessage] = useState(params.get('error') === 'link' ? 'This sign-in link has expired or was already used.' : '');

  // Bumped to ask for the session again (after signing in with the key pair).
  const [attempt, setAttempt] = useState(0);
  useEffect(() => {
    setSignedOutHandler(() => {
      setCsrfToken('');
      setSession(null);
      setMessage('Your session has ended; sign in again.');
    });
    let current = true;
    void api.GET('/portal/api/session').then(({ data }) => {
      if (!current) return;
      if (data) setCsrfToken(data.data.csrf_token);
      setSession(data ? data.data : null);
    });
    return () => {
      current = false;
    };
  }, [attempt]);

  const signOut = async () => {
    await api.POST('/portal/api/sign-out');
    setCsrfToken('');
    setSession(null);
    setMessage('Signed out.');
  };

  return (
    <MantineProvider theme={mantineTheme(session?.theme)} forceColorScheme={session?.theme.dark ? 'dark' : 'light'}>
      {session === undefined ? (
        <Container py="xl">
          <Loader aria-label="Loading" />
        </Container>
      ) : session === null ? (
        <SignIn message={message} onSignedIn={() => setAttempt((n) => n + 1)} />
      ) : (
        <SessionContext.Provider value={session}>
          <Shell session={session} onSignOut={signOut} />
        </SessionContext.Provider>
      )}
    </MantineProvider>
  );
}

function Shell({ session, onSignOut }: { session: Session; onSignOut: () => void }) {
  const route = useRoute();
  return (
    <>
      {!embedded && (
        <header className="portal-header">
          <Container size="lg" py="sm">
            <Group justify="space-between">
              <Group gap="sm">
                {session.theme.logo_url && <Image src={session.theme.logo_url} alt="Logo" h={28} w="auto" />}
                <Text fw={700} data-testid="brand">
                  {session.organization.name}
                </Text>
              </Group>
              <Button variant="subtle" size="xs" onClick={onSignOut}>
                Sign out
              </Button>
            </Group>
          </Container>
        </header>
      )}
      <Container size="lg" py="md">
        <nav aria-label="Portal">
          <Group gap="lg" mb="md">
            {NAV.map(([href, label]) => {
              const current = route.path.startsWith(href.slice(1));
              return (
                <Anchor key={href} href={href} fw={current ? 700 : 400} aria-current={current ? 'page' : undefined}>
                  {label}
                </Anchor>
              );
            })}
          </Group>
        </nav>
        <main>
          <Screens route={route} />
        </main>
      </Container>
    </>
  );
}
