import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface Bar {
  /** Bucket start, epoch seconds. */
  time: number;
  succeeded: number;
  failed: number;
}

import { BAR_COLORS } from './bar-colors';

const SUCCEEDED = BAR_COLORS.succeeded;
const FAILED = BAR_COLORS.failed;

/**
 * Stacked bars of succeeded (below) and failed (on top) deliveries per bucket, drawn by uPlot
 * on a canvas. Stacking by hand: the red series is the total, and the green one, drawn after
 * it, covers its lower part. The canvas says nothing to a screen reader: the caller labels it.
 */
export default function BarsChart({ bars, height = 180 }: { bars: Bar[]; height?: number }) {
  const box = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const draw = uPlot.paths.bars?.({ size: [0.8, 48], align: 1 });
    const step = bars.length > 1 ? bars[1]!.time - bars[0]!.time : 3600;
    const data: uPlot.AlignedData = [bars.map((b) => b.time), bars.map((b) => b.succeeded + b.failed), bars.map((b) => b.succeeded)];
    const plot = new uPlot(
      {
        width: Math.max(200, el.clientWidth),
        height,
        legend: { show: false },
        cursor: { show: false },
        // Each bar spans its bucket from its start: the axis runs to the end of the last one.
        scales: { x: { time: true, range: (_u, min, max) => [min, max + step] }, y: { range: (_u, _min, max) => [0, Math.max(1, max)] } },
        axes: [{ stroke: '#868e96' }, { stroke: '#868e96', incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000, 10_000] }],
        series: [
          {},
          { label: 'Failed', fill: FAILED, stroke: FAILED, width: 0, paths: draw, points: { show: false } },
          { label: 'Succeeded', fill: SUCCEEDED, stroke: SUCCEEDED, width: 0, paths: draw, points: { show: false } },
        ],
      },
      data,
      el,
    );
    const resize = new ResizeObserver(() => plot.setSize({ width: Math.max(200, el.clientWidth), height }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [bars, height]);

  return <div ref={box} />;
}
