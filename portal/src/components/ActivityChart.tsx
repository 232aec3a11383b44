import { BarChart } from '@mantine/charts';
import { Alert, Group, SegmentedControl, Text, Title } from '@mantine/core';
import { useState } from 'react';
import { V3, api } from '../api/client';
import { unwrap } from '../api/unwrap';
import { useLoad } from './useLoad';

type Range = '24h' | '7d';

/** Deliveries succeeded and failed per bucket, from the server's hourly counters. */
export function ActivityChart({ connectionId }: { connectionId: number }) {
  const [range, setRange] = useState<Range>('24h');
  const { value, error } = useLoad(
    async () =>
      unwrap(await api.GET(`${V3}/connections/{id}/activity`, { params: { path: { id: String(connectionId) }, query: { range } } })),
    `${connectionId}/${range}`,
  );
  const label = (iso: string) => {
    const d = new Date(iso);
    return range === '24h' ? d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) : d.toLocaleDateString([], { weekday: 'short', hour: '2-digit' });
  };
  const summary = value
    ? `Deliveries over the last ${range === '24h' ? '24 hours' : '7 days'}: ${value.succeeded} succeeded, ${value.failed} failed`
    : 'Loading activity';

  return (
    <section aria-labelledby="activity-heading">
      <Group justify="space-between" mt="lg" mb="xs">
        <Title order={2} id="activity-heading">
          Activity
        </Title>
        <SegmentedControl
          aria-label="Activity range"
          value={range}
          onChange={(v) => setRange(v as Range)}
          data={[
            { value: '24h', label: 'Last 24 hours' },
            { value: '7d', label: 'Last 7 days' },
          ]}
        />
      </Group>
      {error && <Alert color="red">{error}</Alert>}
      <div role="img" aria-label={summary}>
        <BarChart
          h={180}
          data={(value?.buckets ?? []).map((b) => ({ time: label(b.start), succeeded: b.succeeded, failed: b.failed }))}
          dataKey="time"
          type="stacked"
          withLegend
          series={[
            { name: 'succeeded', label: 'Succeeded', color: 'teal.6' },
            { name: 'failed', label: 'Failed', color: 'red.6' },
          ]}
        />
      </div>
      {value && (
        <Text size="sm" c="dimmed">
          {value.succeeded} succeeded, {value.failed} failed
        </Text>
      )}
    </section>
  );
}
