import { Text } from '@mantine/core';
import { Component, type ReactNode } from 'react';

/** A chart that cannot draw (an odd browser locale, say) says so; the rest of the page goes on. */
export class ChartBoundary extends Component<{ children: ReactNode }, { failed: boolean }> {
  override state = { failed: false };

  static getDerivedStateFromError(): { failed: boolean } {
    return { failed: true };
  }

  override render() {
    if (this.state.failed) return <Text c="dimmed">The chart cannot be drawn in this browser; the totals are below.</Text>;
    return this.props.children;
  }
}
