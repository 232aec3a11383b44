import { Alert, Button, Code, Group, NativeSelect, Paper, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { type FormEvent, useState } from 'react';
import { V3, api } from '../api/client';
import { errorText } from '../api/errors';
import type { EventType, EventTypeName, Subscription, TestResult } from '../api/types';
import { unwrap } from '../api/unwrap';
import { StatusBadge } from '../components/StatusBadge';
import { useLoad } from '../components/useLoad';
import { fromLocalInput, toLocalInput } from '../format';
import { useCan } from '../session';

/** A connection's subscriptions: add from the catalog, pause, resume, delete, test, recover. */
export function Subscriptions({ connectionId }: { connectionId: number }) {
  const can = useCan();
  const { value, error, reload } = useLoad(async () => {
    const [subs, types] = await Promise.all([api.GET(`${V3}/subscriptions`), api.GET(`${V3}/event-types`)]);
    return { subscriptions: unwrap(subs).filter((s) => s.connection_id === connectionId), catalog: unwrap(types) };
  }, String(connectionId));
  const [message, setMessage] = useState<{ text: string; error: boolean }>();

  const say = (text: string, isError = false) => setMessage({ text, error: isError });

  return (
    <section aria-labelledby="subscriptions-heading">
      <Title order={2} id="subscriptions-heading" mt="lg" mb="sm">
        Subscriptions
      </Title>
      {error && <Alert color="red">{error}</Alert>}
      {message && (
        <Alert color={message.error ? 'red' : 'blue'} role={message.error ? 'alert' : 'status'} mb="sm">
          {message.text}
        </Alert>
      )}
      {value && value.subscriptions.length === 0 && <Text c="dimmed">No subscriptions yet.</Text>}
      {value && value.subscriptions.length > 0 && (
        <Table aria-label="Subscriptions">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Event type</Table.Th>
              <Table.Th>State</Table.Th>
              <Table.Th>Actions</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {value.subscriptions.map((s) => (
              <Row key={s.id} subscription={s} catalog={value.catalog} say={say} reload={reload} can={can} />
            ))}
          </Table.Tbody>
        </Table>
      )}
      {value && can('manage_connections') && <AddSubscription connectionId={connectionId} catalog={value.catalog} taken={value.subscriptions} say={say} reload={reload} />}
    </section>
  );
}

interface RowProps {
  subscription: Subscription;
  catalog: EventType[];
  say: (text: string, isError?: boolean) => void;
  reload: () => void;
  can: ReturnType<typeof useCan>;
}

function Row({ subscription: s, catalog, say, reload, can }: RowProps) {
  const [test, setTest] = useState<TestResult | string>();
  const [since, setSince] = useState(() => toLocalInput(Date.now() - 86_400_000));
  const path = { params: { path: { id: String(s.id) } } };
  const described = catalog.find((t) => t.name === s.event_type);

  const run = async (call: () => Promise<{ error?: unknown }>, done?: string) => {
    const result = await call();
    if (result.error) return say(errorText(result.error), true);
    if (done) say(done);
    await reload();
  };

  return (
    <Table.Tr>
      <Table.Td>
        <Text>{s.event_type}</Text>
        {described && (
          <Text size="sm" c="dimmed">
            {described.description}
          </Text>
        )}
      </Table.Td>
      <Table.Td>
        <StatusBadge status={s.is_active ? 'active' : 'paused'} />
      </Table.Td>
      <Table.Td>
        <Stack gap="xs">
          <Group gap="xs">
            {can('manage_connections') && (
              <>
                <Button size="xs" variant="light" onClick={() => run(() => api.PATCH(`${V3}/subscriptions/{id}`, { ...path, body: { is_active: !s.is_active } }))}>
                  {s.is_active ? 'Pause' : 'Resume'}
                </Button>
                <Button
                  size="xs"
                  onClick={async () => {
                    setTest('Sending…');
                    const result = await api.POST(`${V3}/broadcast/test/{subscription_id}`, { params: { path: { subscription_id: String(s.id) } } });
                    setTest(result.error ? errorText(result.error) : result.data.data);
                  }}
                >
                  Send test event
                </Button>
                <Button
                  size="xs"
                  variant="subtle"
                  color="red"
                  onClick={() => window.confirm(`Delete the subscription to ${s.event_type}?`) && run(() => api.DELETE(`${V3}/subscriptions/{id}`, path), 'Subscription deleted.')}
                >
                  Delete subscription
                </Button>
              </>
            )}
          </Group>
          {can('retry') && (
            <Group gap="xs" align="end">
              <TextInput size="xs" type="datetime-local" label={`Recover failed since (${s.event_type})`} value={since} onChange={(e) => setSince(e.currentTarget.value)} />
              <Button
                size="xs"
                variant="light"
                onClick={async () => {
                  const iso = fromLocalInput(since);
                  if (!iso) return say('Pick a time to recover from.', true);
                  const result = await api.POST(`${V3}/subscriptions/{id}/recover`, { ...path, body: { since: iso } });
                  if (result.error) return say(errorText(result.error), true);
                  say(`${result.data.data.requeued} failed deliveries queued again.`);
                }}
              >
                Recover failed since…
              </Button>
            </Group>
          )}
          {test !== undefined && (
            <Paper withBorder p="xs" role="status" aria-label="Test result">
              {typeof test === 'string' ? (
                <Text>{test}</Text>
              ) : (
                <>
                  <Text fw={700}>
                    Status {test.status_code} {test.success ? '— delivered' : '— not accepted'}
                  </Text>
                  <Code block>{test.response_body || '(empty body)'}</Code>
                </>
              )}
            </Paper>
          )}
        </Stack>
      </Table.Td>
    </Table.Tr>
  );
}

interface AddProps {
  connectionId: number;
  catalog: EventType[];
  taken: Subscription[];
  say: (text: string, isError?: boolean) => void;
  reload: () => void;
}

function AddSubscription({ connectionId, catalog, taken, say, reload }: AddProps) {
  const free = catalog.filter((t) => !taken.some((s) => s.event_type === t.name));
  const [eventType, setEventType] = useState('');
  if (free.length === 0) return null;
  const chosen = free.some((t) => t.name === eventType) ? eventType : (free[0]?.name ?? '');

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    const result = await api.POST(`${V3}/subscriptions`, { body: { connection_id: connectionId, event_type: chosen as EventTypeName } });
    if (result.error) return say(errorText(result.error), true);
    say(`Subscribed to ${chosen}.`);
    await reload();
  };

  return (
    <form onSubmit={submit} aria-label="Add subscription">
      <Group align="end" mt="sm">
        <NativeSelect label="Event type" value={chosen} onChange={(e) => setEventType(e.currentTarget.value)} data={free.map((t) => t.name)} />
        <Button type="submit">Add subscription</Button>
      </Group>
    </form>
  );
}
