import { Alert, Button, Container, Paper, PasswordInput, Stack, Text, TextInput, Title } from '@mantine/core';
import { type FormEvent, useState } from 'react';
import { api } from '../api/client';
import { errorText } from '../api/errors';

/** The key pair sign-in (a portal-session link signs in without this page). */
export function SignIn({ message, onSignedIn }: { message: string; onSignedIn: () => void }) {
  const [publicKey, setPublicKey] = useState('');
  const [secretKey, setSecretKey] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    const { error: failed } = await api.POST('/portal/api/sign-in', { body: { public_key: publicKey, secret_key: secretKey } });
    setBusy(false);
    if (failed) return setError(errorText(failed));
    onSignedIn();
  };

  return (
    <Container size={420} py="xl">
      <Paper withBorder p="lg" radius="md" component="form" onSubmit={submit} aria-label="Sign in">
        <Stack>
          <Title order={1}>Sign in</Title>
          <Text c="dimmed" size="sm">
            Use your organization’s API key pair, or the link your platform gave you.
          </Text>
          {message && !error && <Alert role="status">{message}</Alert>}
          <TextInput label="Public key" autoComplete="username" required withAsterisk={false} value={publicKey} onChange={(e) => setPublicKey(e.currentTarget.value)} />
          <PasswordInput
            label="Secret key"
            autoComplete="current-password"
            required
            withAsterisk={false}
            value={secretKey}
            onChange={(e) => setSecretKey(e.currentTarget.value)}
            visibilityToggleButtonProps={{ 'aria-label': 'Show the secret key' }}
          />
          {error && (
            <Alert color="red" role="alert">
              {error}
            </Alert>
          )}
          <Button type="submit" loading={busy}>
            Sign in
          </Button>
        </Stack>
      </Paper>
    </Container>
  );
}
