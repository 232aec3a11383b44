import { Badge } from '@mantine/core';

const COLORS: Record<string, string> = {
  active: 'green',
  succeeded: 'green',
  failing: 'orange',
  pending: 'blue',
  parked: 'gray',
  paused: 'gray',
  disabled: 'gray',
  failed: 'red',
  pending_authorization: 'yellow',
  authorization_failed: 'red',
};

export function StatusBadge({ status }: { status: string }) {
  return (
    <Badge color={COLORS[status] ?? 'gray'} variant="light">
      {status.replace(/_/g, ' ')}
    </Badge>
  );
}
