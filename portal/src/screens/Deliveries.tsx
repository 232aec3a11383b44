import { Alert, Anchor, Button, Group, Loader, NativeSelect, Table, Text, TextInput, Title } from '@mantine/core';
import { type FormEvent, useState } from 'react';
import { V3, api } from '../api/client';
import type { DeliveryQuery } from '../api/types';
import { unwrap } from '../api/unwrap';
import { StatusBadge } from '../components/StatusBadge';
import { useLoad } from '../components/useLoad';
import { connectionUrl, fromLocalInput, toLocalInput, when } from '../format';
import { navigate } from '../router';

const STATUSES = [
  { value: '', label: 'Any' },
  { value: 'pending', label: 'Pending' },
  { value: 'parked', label: 'Waiting (subscription paused)' },
  { value: 'succeeded', label: 'Succeeded' },
  { value: 'failed', label: 'Failed' },
];

/** The filters live in the hash's query, so a filtered list is a link. */
const FILTERS = ['status', 'connection_id', 'event_type', 'created_after', 'created_before', 'cursor'] as const;

export function Deliveries({ query }: { query: URLSearchParams }) {
  const { value, error } = useLoad(async () => {
    const q: DeliveryQuery = { limit: 50 };
    const status = query.get('status');
    if (status) q.status = status as DeliveryQuery['status'];
    const connection = query.get('connection_id');
    if (connection) q.connection_id = Number(connection);
    for (const key of ['event_type', 'created_after', 'created_before', 'cursor'] as const) {
      const v = query.get(key);
      if (v) q[key] = v;
    }
    const [list, connections, subscriptions, types] = await Promise.all([
      api.GET(`${V3}/deliveries`, { params: { query: q } }),
      api.GET(`${V3}/connections`),
      api.GET(`${V3}/subscriptions`),
      api.GET(`${V3}/event-types`),
    ]);
    if (!list.data) throw new Error(unwrap(list) as never);
    return {
      deliveries: list.data.data,
      next: list.data.meta.next_cursor,
      connections: unwrap(connections),
      subscriptions: new Map(unwrap(subscriptions).map((s) => [s.id, s])),
      catalog: unwrap(types),
    };
  }, query.toString());

  const [status, setStatus] = useState(query.get('status') ?? '');
  const [connectionId, setConnectionId] = useState(query.get('connection_id') ?? '');
  const [eventType, setEventType] = useState(query.get('event_type') ?? '');
  const initial = (key: string) => {
    const v = query.get(key);
    return v ? toLocalInput(Date.parse(v)) : '';
  };
  const [from, setFrom] = useState(initial('created_after'));
  const [to, setTo] = useState(initial('created_before'));

  const filter = (event: FormEvent) => {
    event.preventDefault();
    const next = new URLSearchParams();
    if (status) next.set('status', status);
    if (connectionId) next.set('connection_id', connectionId);
    if (eventType) next.set('event_type', eventType);
    const after = fromLocalInput(from);
    const before = fromLocalInput(to);
    if (after) next.set('created_after', after);
    if (before) next.set('created_before', before);
    navigate(`/deliveries?${next}`);
  };

  const older = new URLSearchParams();
  for (const key of FILTERS) {
    const v = query.get(key);
    if (v && key !== 'cursor') older.set(key, v);
  }
  if (value?.next) older.set('cursor', value.next);

  return (
    <>
      <Title order={1} mb="md">
        Deliveries
      </Title>
      <form onSubmit={filter} aria-label="Filter deliveries">
        <Group align="end" mb="md">
          <NativeSelect label="Status" value={status} onChange={(e) => setStatus(e.currentTarget.value)} data={STATUSES} />
          <NativeSelect
            label="Connection"
            value={connectionId}
            onChange={(e) => setConnectionId(e.currentTarget.value)}
            data={[{ value: '', label: 'Any' }, ...(value?.connections ?? []).map((c) => ({ value: String(c.id), label: `#${c.id} ${connectionUrl(c)}` }))]}
          />
          <NativeSelect
            label="Event type"
            value={eventType}
            onChange={(e) => setEventType(e.currentTarget.value)}
            data={[{ value: '', label: 'Any' }, ...(value?.catalog ?? []).map((t) => t.name)]}
          />
          <TextInput type="datetime-local" label="Created from" value={from} onChange={(e) => setFrom(e.currentTarget.value)} />
          <TextInput type="datetime-local" label="Created before" value={to} onChange={(e) => setTo(e.currentTarget.value)} />
          <Button type="submit">Filter</Button>
        </Group>
      </form>
      {error && <Alert color="red">{error}</Alert>}
      {!value && !error && <Loader aria-label="Loading" />}
      {value && value.deliveries.length === 0 && <Text c="dimmed">No deliveries match.</Text>}
      {value && value.deliveries.length > 0 && (
        <Table aria-label="Deliveries" striped>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Delivery</Table.Th>
              <Table.Th>Event type</Table.Th>
              <Table.Th>Connection</Table.Th>
              <Table.Th>Status</Table.Th>
              <Table.Th ta="right">Attempts</Table.Th>
              <Table.Th>Last status</Table.Th>
              <Table.Th>Created</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {value.deliveries.map((d) => (
              <Table.Tr key={d.id}>
                <Table.Td>
                  <Anchor href={`#/deliveries/${d.id}`}>#{d.id}</Anchor>
                </Table.Td>
                <Table.Td>{value.subscriptions.get(d.subscription_id)?.event_type ?? '—'}</Table.Td>
                <Table.Td>#{d.connection_id}</Table.Td>
                <Table.Td>
                  <StatusBadge status={d.status} />
                </Table.Td>
                <Table.Td ta="right">{d.attempt_count}</Table.Td>
                <Table.Td>{d.last_status_code ?? ''}</Table.Td>
                <Table.Td>{when(d.created_at)}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
      {value?.next && (
        <Text mt="md">
          <Anchor href={`#/deliveries?${older}`}>Older deliveries</Anchor>
        </Text>
      )}
    </>
  );
}
