// Preloaded (node --import) into a Herald process: measures its event-loop delay with
// perf_hooks.monitorEventLoopDelay (how late a timer that should fire every few ms
// actually fires: the longest stretch of synchronous work), and the garbage collector's
// pauses beside it (a stall as long as the longest pause is the collector's, not Herald's
// code). SIGUSR2 writes both so far to $BENCH_LOOP_DELAY_FILE and starts over, so the
// bench reads exactly its window.
import { renameSync, writeFileSync } from 'node:fs';
import { PerformanceObserver, constants, monitorEventLoopDelay } from 'node:perf_hooks';

const file = process.env.BENCH_LOOP_DELAY_FILE;
// Sampling every 5 ms: a stall shows as one late sample of about its own length.
const RESOLUTION_MS = 5;

if (file) {
  const histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  histogram.enable();
  const ms = (ns) => +(ns / 1e6).toFixed(2);
  const KINDS = { [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major', [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor' };
  let gc = { count: 0, totalMs: 0, maxMs: 0, maxKind: undefined };
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      gc.count++;
      gc.totalMs += entry.duration;
      if (entry.duration > gc.maxMs) {
        gc.maxMs = entry.duration;
        gc.maxKind = KINDS[entry.detail?.kind] ?? 'other';
      }
    }
  }).observe({ entryTypes: ['gc'] });
  process.on('SIGUSR2', () => {
    // Written aside and renamed: the bench never reads half a file.
    writeFileSync(
      `${file}.tmp`,
      JSON.stringify({
        at: Date.now(),
        resolutionMs: RESOLUTION_MS,
        samples: histogram.count,
        // Each sample includes the resolution itself: a loop that never stalls shows ~5 ms.
        maxMs: ms(histogram.max),
        p99Ms: ms(histogram.percentile(99)),
        p999Ms: ms(histogram.percentile(99.9)),
        meanMs: ms(histogram.mean),
        gc: { count: gc.count, totalMs: +gc.totalMs.toFixed(1), maxMs: +gc.maxMs.toFixed(1), maxKind: gc.maxKind },
      }),
    );
    renameSync(`${file}.tmp`, file);
    histogram.reset();
    gc = { count: 0, totalMs: 0, maxMs: 0, maxKind: undefined };
  });
}
