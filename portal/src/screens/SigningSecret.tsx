import { Alert, Button, Code, Group, Paper, Stack, Text, Title } from '@mantine/core';
import { useState } from 'react';
import { V3, api } from '../api/client';
import { errorText } from '../api/errors';
import { when } from '../format';
import { useCan } from '../session';

/** Reveal (view_secrets) and rotate (manage_secrets) the secret that signs every webhook. */
export function SigningSecret({ connectionId }: { connectionId: number }) {
  const can = useCan();
  const [secret, setSecret] = useState<string>();
  const [notice, setNotice] = useState<{ text: string; error: boolean }>();
  const path = { params: { path: { id: String(connectionId) } } };
  if (!can('view_secrets') && !can('manage_secrets')) return null;

  return (
    <section aria-label="Signing secret">
      <Title order={2} mt="lg" mb="xs">
        Signing secret
      </Title>
      <Paper withBorder p="md">
        <Stack gap="sm">
          <Text size="sm" c="dimmed">
            Each webhook carries a signature made with this secret (Standard Webhooks). After a rotation the previous secret keeps
            signing for 24 hours next to the new one, so your receiver can switch over without rejecting a single delivery.
          </Text>
          <Group>
            {can('view_secrets') && (
              <Button
                variant="light"
                onClick={async () => {
                  const result = await api.GET(`${V3}/connections/{id}/secret`, path);
                  if (result.error) return setNotice({ text: errorText(result.error), error: true });
                  setSecret(result.data.data.secret);
                }}
              >
                Reveal secret
              </Button>
            )}
            {can('manage_secrets') && (
              <Button
                onClick={async () => {
                  const result = await api.POST(`${V3}/connections/{id}/secret/rotate`, path);
                  if (result.error) return setNotice({ text: errorText(result.error), error: true });
                  const d = result.data.data;
                  setNotice({
                    text:
                      `Secret rotated. The previous secret stays valid until ${when(d.previous_secret_expires_at)}: until then every ` +
                      'webhook is signed with both, so your receiver can switch to the new secret without missing one.',
                    error: false,
                  });
                  setSecret(can('view_secrets') ? d.secret : undefined);
                }}
              >
                Rotate secret
              </Button>
            )}
          </Group>
          {notice && (
            <Alert color={notice.error ? 'red' : 'blue'} role={notice.error ? 'alert' : 'status'}>
              {notice.text}
            </Alert>
          )}
          {secret && <Code aria-label="Secret value">{secret}</Code>}
        </Stack>
      </Paper>
    </section>
  );
}
