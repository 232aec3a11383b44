import { Alert, Anchor, Button, Group, Loader, Table, Text, Title } from '@mantine/core';
import { V3, api } from '../api/client';
import { unwrap } from '../api/unwrap';
import { StatusBadge } from '../components/StatusBadge';
import { useLoad } from '../components/useLoad';
import { connectionUrl, percent } from '../format';
import { navigate } from '../router';
import { useCan } from '../session';

export function Connections() {
  const can = useCan();
  const { value, error } = useLoad(async () => {
    const [list, totals] = await Promise.all([api.GET(`${V3}/connections`), api.GET(`${V3}/connections/activity`)]);
    return { connections: unwrap(list), totals: new Map(unwrap(totals).map((t) => [t.connection_id, t])) };
  }, '');

  return (
    <>
      <Group justify="space-between" mb="md">
        <Title order={1}>Connections</Title>
        {can('manage_connections') && <Button onClick={() => navigate('/connections/new')}>Add connection</Button>}
      </Group>
      {error && <Alert color="red">{error}</Alert>}
      {!value && !error && <Loader aria-label="Loading" />}
      {value && value.connections.length === 0 && <Text c="dimmed">No connections yet.</Text>}
      {value && value.connections.length > 0 && (
        <Table aria-label="Connections" striped highlightOnHover>
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Type</Table.Th>
              <Table.Th>URL</Table.Th>
              <Table.Th>Status</Table.Th>
              <Table.Th ta="right">Success rate (24 h)</Table.Th>
              <Table.Th ta="right">Deliveries (24 h)</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {value.connections.map((c) => {
              const t = value.totals.get(c.id);
              return (
                <Table.Tr key={c.id}>
                  <Table.Td>{c.type}</Table.Td>
                  <Table.Td>
                    <Anchor href={`#/connections/${c.id}`}>{connectionUrl(c)}</Anchor>
                  </Table.Td>
                  <Table.Td>
                    <StatusBadge status={c.status} />
                  </Table.Td>
                  <Table.Td ta="right">{percent(t?.success_rate)}</Table.Td>
                  <Table.Td ta="right">{t ? t.succeeded + t.failed : 0}</Table.Td>
                </Table.Tr>
              );
            })}
          </Table.Tbody>
        </Table>
      )}
    </>
  );
}
