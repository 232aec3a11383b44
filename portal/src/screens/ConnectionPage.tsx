import { Alert, Anchor, Button, Group, Loader, Modal, Paper, SimpleGrid, Text, Title } from '@mantine/core';
import { type ReactNode, useEffect, useState } from 'react';
import { V3, api } from '../api/client';
import { errorText } from '../api/errors';
import { unwrap } from '../api/unwrap';
import { ActivityChart } from '../components/ActivityChart';
import { StatusBadge } from '../components/StatusBadge';
import { useLoad } from '../components/useLoad';
import { connectionUrl, when } from '../format';
import { navigate } from '../router';
import { useCan } from '../session';
import { SigningSecret } from './SigningSecret';
import { Subscriptions } from './Subscriptions';
import { startKlaviyoAuthorization } from './klaviyo';

const AWAITING_CONSENT = new Set(['pending_authorization', 'authorization_failed']);

export function ConnectionPage({ id }: { id: number }) {
  const can = useCan();
  const path = { params: { path: { id: String(id) } } };
  const { value: connection, error, reload } = useLoad(async () => unwrap(await api.GET(`${V3}/connections/{id}`, path)), String(id));
  const [message, setMessage] = useState<{ text: string; error: boolean }>();
  const [confirmDelete, setConfirmDelete] = useState(false);

  // While Klaviyo's consent runs in its own window, watch for the connection to turn active.
  const awaiting = connection !== undefined && AWAITING_CONSENT.has(connection.status);
  useEffect(() => {
    if (!awaiting) return;
    const timer = window.setInterval(() => void reload(), 1000);
    return () => window.clearInterval(timer);
  }, [awaiting, reload]);

  if (error) return <Alert color="red">{error}</Alert>;
  if (!connection) return <Loader aria-label="Loading" />;

  const manage = can('manage_connections');
  const act = async (run: () => Promise<{ error?: unknown }>, done?: string) => {
    const result = await run();
    if (result.error) return setMessage({ text: errorText(result.error), error: true });
    setMessage(done ? { text: done, error: false } : undefined);
    await reload();
  };

  return (
    <>
      <Anchor href="#/connections">← Connections</Anchor>
      <Title order={1} mt="xs" mb="md">
        {connection.type === 'webhook' ? 'Webhook' : 'Klaviyo'} connection #{connection.id}
      </Title>
      <Paper withBorder p="md" mb="md">
        <SimpleGrid cols={{ base: 1, sm: 2 }} component="dl" spacing="xs">
          <Field label="URL">{connectionUrl(connection)}</Field>
          <Field label="Status">
            <StatusBadge status={connection.status} /> {connection.status_reason}
          </Field>
          <Field label="Last success">{when(connection.last_success_at)}</Field>
          <Field label="Last failure">{when(connection.last_failure_at)}</Field>
        </SimpleGrid>
      </Paper>
      {manage && (
        <Group mb="md">
          {connection.type === 'webhook' && <Button onClick={() => navigate(`/connections/${id}/edit`)}>Edit</Button>}
          {connection.type === 'klaviyo' && AWAITING_CONSENT.has(connection.status) && (
            <Button
              onClick={async () => {
                const failed = await startKlaviyoAuthorization(id);
                setMessage(failed ? { text: failed, error: true } : { text: 'Finish connecting in the Klaviyo window.', error: false });
              }}
            >
              Connect Klaviyo
            </Button>
          )}
          {connection.status === 'disabled' ? (
            <Button variant="light" onClick={() => act(() => api.POST(`${V3}/connections/{id}/enable`, { ...path, body: {} }), 'Enabled.')}>
              Enable
            </Button>
          ) : (
            <Button variant="light" onClick={() => act(() => api.POST(`${V3}/connections/{id}/disable`, path), 'Disabled: nothing is sent until you enable it.')}>
              Disable
            </Button>
          )}
          <Button variant="light" color="red" onClick={() => setConfirmDelete(true)}>
            Delete connection
          </Button>
        </Group>
      )}
      {message && (
        <Alert color={message.error ? 'red' : 'blue'} role={message.error ? 'alert' : 'status'} mb="md">
          {message.text}
        </Alert>
      )}
      <Modal opened={confirmDelete} onClose={() => setConfirmDelete(false)} title="Delete this connection?">
        <Text mb="md">Its subscriptions and waiting deliveries are deleted with it. This cannot be undone.</Text>
        <Group justify="flex-end">
          <Button variant="default" onClick={() => setConfirmDelete(false)}>
            Cancel
          </Button>
          <Button
            color="red"
            onClick={async () => {
              const result = await api.DELETE(`${V3}/connections/{id}`, path);
              setConfirmDelete(false);
              if (result.error) return setMessage({ text: errorText(result.error), error: true });
              navigate('/connections');
            }}
          >
            Delete
          </Button>
        </Group>
      </Modal>
      <ActivityChart connectionId={id} />
      <Subscriptions connectionId={id} />
      <Text my="md">
        <Anchor href={`#/deliveries?connection_id=${id}`}>Deliveries of this connection</Anchor>
      </Text>
      {connection.type === 'webhook' && <SigningSecret connectionId={id} />}
    </>
  );
}

function Field({ label, children }: { label: string; children: ReactNode }) {
  return (
    <div>
      <Text component="dt" size="sm" c="dimmed">
        {label}
      </Text>
      <Text component="dd" m={0}>
        {children}
      </Text>
    </div>
  );
}
