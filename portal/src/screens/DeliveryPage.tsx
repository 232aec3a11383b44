import { Alert, Anchor, Button, Code, Group, Loader, Paper, SimpleGrid, Stack, Text, Title } from '@mantine/core';
import { useState } from 'react';
import { V3, api } from '../api/client';
import { errorText } from '../api/errors';
import type { Attempt } from '../api/types';
import { unwrap } from '../api/unwrap';
import { StatusBadge } from '../components/StatusBadge';
import { useLoad } from '../components/useLoad';
import { when } from '../format';
import { useCan } from '../session';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function DeliveryPage({ id }: { id: number }) {
  const can = useCan();
  const path = { params: { path: { id: String(id) } } };
  const { value: delivery, error, reload } = useLoad(async () => unwrap(await api.GET(`${V3}/deliveries/{id}`, path)), String(id));
  const [message, setMessage] = useState<{ text: string; error: boolean }>();
  const [busy, setBusy] = useState(false);

  if (error) return <Alert color="red">{error}</Alert>;
  if (!delivery) return <Loader aria-label="Loading" />;

  const retry = async () => {
    setBusy(true);
    const result = await api.POST(`${V3}/deliveries/{id}/retry`, path);
    if (result.error) {
      setBusy(false);
      return setMessage({ text: errorText(result.error), error: true });
    }
    setMessage({ text: 'Queued again; the new attempt shows here when it is in.', error: false });
    // The attempt goes out within moments: show it once the delivery has an answer.
    for (let i = 0; i < 40; i++) {
      await sleep(500);
      const again = await api.GET(`${V3}/deliveries/{id}`, path);
      if (again.data && again.data.data.attempt_count > delivery.attempt_count && !again.data.data.in_flight) break;
    }
    await reload();
    setMessage(undefined);
    setBusy(false);
  };

  return (
    <>
      <Anchor href="#/deliveries">← Deliveries</Anchor>
      <Title order={1} mt="xs">
        Delivery #{delivery.id}
      </Title>
      <Group my="sm">
        <StatusBadge status={delivery.status} />
        <Text>
          {delivery.attempt_count} attempt(s) · connection <Anchor href={`#/connections/${delivery.connection_id}`}>#{delivery.connection_id}</Anchor> · created{' '}
          {when(delivery.created_at)}
        </Text>
      </Group>
      {can('retry') && (
        <Button onClick={retry} loading={busy} mb="sm">
          Retry
        </Button>
      )}
      {message && (
        <Alert color={message.error ? 'red' : 'blue'} role={message.error ? 'alert' : 'status'} mb="sm">
          {message.text}
        </Alert>
      )}
      <Title order={2} mt="md" mb="sm">
        Attempts
      </Title>
      {delivery.attempts.length === 0 && <Text c="dimmed">No attempt yet.</Text>}
      <Stack>
        {delivery.attempts.map((a) => (
          <AttemptCard key={a.id} attempt={a} />
        ))}
      </Stack>
    </>
  );
}

function AttemptCard({ attempt: a }: { attempt: Attempt }) {
  const headers = Object.entries(a.request_headers)
    .map(([k, v]) => `${k}: ${v}`)
    .join('\n');
  return (
    <Paper withBorder p="md" component="article" aria-label={`Attempt ${a.number}`}>
      <Title order={3} size="h4" mb="xs">
        Attempt {a.number}
      </Title>
      <SimpleGrid cols={{ base: 1, sm: 2 }} spacing="xs" mb="xs">
        <Text>
          <b>Time:</b> {when(a.started_at)}
        </Text>
        <Text>
          <b>Duration:</b> {a.duration_ms} ms
        </Text>
        <Text>
          <b>URL:</b> {a.url}
        </Text>
        <Text>
          <b>Response status:</b> {a.response_status === null ? `no response${a.error ? ` (${a.error})` : ''}` : a.response_status}
        </Text>
      </SimpleGrid>
      <Text fw={700} size="sm">
        Request headers (credentials redacted)
      </Text>
      <Code block aria-label={`Request headers of attempt ${a.number}`}>
        {headers}
      </Code>
      <Text fw={700} size="sm" mt="xs">
        Response body
      </Text>
      <Code block aria-label={`Response body of attempt ${a.number}`}>
        {a.response_body || '(empty)'}
      </Code>
    </Paper>
  );
}
