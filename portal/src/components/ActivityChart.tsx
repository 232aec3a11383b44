import { Alert, ColorSwatch, Group, SegmentedControl, Text, Title } from '@mantine/core';
import { Suspense, lazy, useMemo, useState } from 'react';
import { V3, api } from '../api/client';
import { unwrap } from '../api/unwrap';
import { BAR_COLORS } from './bar-colors';
import { ChartBoundary } from './ChartBoundary';
import { useLoad } from './useLoad';

// Its own file, loaded when a chart is first shown: uPlot runs locale code as it loads.
const BarsChart = lazy(() => import('./BarsChart'));

type Range = '24h' | '7d';

/** Deliveries succeeded and failed per bucket, from the server's hourly counters. */
export function ActivityChart({ connectionId }: { connectionId: number }) {
  const [range, setRange] = useState<Range>('24h');
  const { value, error } = useLoad(
    async () =>
      unwrap(await api.GET(`${V3}/connections/{id}/activity`, { params: { path: { id: String(connectionId) }, query: { range } } })),
    `${connectionId}/${range}`,
  );
  const bars = useMemo(
    () => (value?.buckets ?? []).map((b) => ({ time: Date.parse(b.start) / 1000, succeeded: b.succeeded, failed: b.failed })),
    [value],
  );
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
        <ChartBoundary>
          <Suspense fallback={<div style={{ height: 180 }} />}>
            <BarsChart bars={bars} />
          </Suspense>
        </ChartBoundary>
      </div>
      {value && (
        <Group gap="md" mt="xs">
          <Group gap={6}>
            <ColorSwatch color={BAR_COLORS.succeeded} size={12} aria-hidden />
            <Text size="sm">{value.succeeded} succeeded</Text>
          </Group>
          <Group gap={6}>
            <ColorSwatch color={BAR_COLORS.failed} size={12} aria-hidden />
            <Text size="sm">{value.failed} failed</Text>
          </Group>
        </Group>
      )}
    </section>
  );
}
