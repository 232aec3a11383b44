// 11. Retention: the same steady load twice on SQLite, without retention (HERALD_RETENTION
// default, 30 days) and with a short one, both long enough for many retention windows.
// Load is closed-loop: batches are sent while fewer than `window` deliveries are outstanding
// (accepted, not yet received), so Herald runs flat out with a bounded backlog and the
// delivered rate is its throughput. Figures: deliveries/s over the steady part of each run,
// their ratio, and the database file size (main file + WAL) sampled every second.
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { Pool } from 'undici';
import { subscribeAll } from '../lib/api.mjs';
import { fmtInt, fmtRatio, median, now, parcelEvent, sleep, verdict } from '../lib/common.mjs';
import { startHerald } from '../lib/herald.mjs';
import { Scope, cpuMsOf } from '../lib/procs.mjs';

const RATIO_TARGET = 0.9;
/** Size counted as flat: after the first retention window (and a pass), it grows by at most this share. */
const FLAT_GROWTH = 0.1;

function sizeOf(file) {
  try {
    return statSync(file).size;
  } catch {
    return 0; // not there (yet)
  }
}

/** The main file and its write-ahead log. */
function fileBytes(dataDir) {
  const main = sizeOf(join(dataDir, 'herald.db'));
  const wal = sizeOf(join(dataDir, 'herald.db-wal'));
  return { bytes: main + wal, main, wal };
}

const mb = (bytes) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

async function steadyRun(ctx, { label, retentionSeconds }) {
  const { retentionEndpoints: endpoints, retentionEventsPerBatch: eventsPerBatch, retentionWindow: window } = ctx.sizes;
  const durationMs = ctx.sizes.retentionMs;
  const warmupMs = Math.min(5_000, durationMs / 4);
  const scope = new Scope(`retention-${label}`);
  try {
    const rx = scope.fork(ctx.file('lib/receiver.mjs'), 'receiver');
    const [{ urls }, h] = await Promise.all([
      // A 1 KiB answer per request, kept in each attempt row as in production.
      rx.call('start', { endpoints, bodyBytes: 1024 }),
      startHerald(scope, { roles: ['all'], env: retentionSeconds ? { HERALD_RETENTION: `${retentionSeconds}s` } : {} }),
    ]);
    await subscribeAll(h.api, h.key, urls, { concurrency: 16 });
    await rx.call('reset');
    const pool = new Pool(h.api.baseUrl, { connections: 2, pipelining: 1 });
    const perBatch = eventsPerBatch * endpoints;
    let sent = 0;
    let nextId = 1;
    let stopping = false;
    let failure;
    const sender = async () => {
      while (!stopping) {
        const { distinct } = await rx.call('stats');
        if (sent - distinct >= window) {
          await sleep(5);
          continue;
        }
        sent += perBatch;
        const events = Array.from({ length: eventsPerBatch }, () => parcelEvent(nextId++));
        const res = await pool.request({
          path: '/api/v3/event-subscriptions/events/batch',
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: h.key.basic },
          body: JSON.stringify({ events }),
        });
        const text = await res.body.text();
        if (res.statusCode !== 202) {
          failure = new Error(`events/batch answered ${res.statusCode}: ${text.slice(0, 300)}`);
          stopping = true;
        }
      }
    };
    const start = now();
    const cpu0 = cpuMsOf(h.api.pid);
    const senders = [sender(), sender()];
    const samples = [];
    let warm;
    while (now() - start < durationMs && !failure) {
      await sleep(1000);
      const { distinct } = await rx.call('stats');
      const t = now() - start;
      samples.push({ second: Math.round(t / 1000), ...fileBytes(h.dataDir), delivered: distinct });
      if (warm === undefined && t >= warmupMs) warm = { t, delivered: distinct };
      if (h.api.child.exitCode !== null) throw new Error(`herald exited during the run:\n${h.api.tail()}`);
    }
    stopping = true;
    await Promise.all(senders);
    await pool.close();
    if (failure) throw failure;
    const end = samples[samples.length - 1];
    const seconds = (end.second * 1000 - warm.t) / 1000;
    const perSecond = (end.delivered - warm.delivered) / seconds;
    const cpuShare = (cpuMsOf(h.api.pid) - cpu0) / (now() - start);
    return { label, retentionSeconds, perSecond, delivered: end.delivered, seconds, samples, finalBytes: end.bytes, heraldCpuShare: cpuShare };
  } finally {
    await scope.close();
  }
}

/** Size growth after the first retention window plus a pass (a quarter of it) and a settling second. */
function flatness(run) {
  const from = Math.ceil(run.retentionSeconds * 1.25) + 2;
  const after = run.samples.filter((s) => s.second >= from);
  if (after.length < 2) return { from, growth: NaN, min: NaN, max: NaN };
  const first = after[0].bytes;
  const max = Math.max(...after.map((s) => s.bytes));
  const min = Math.min(...after.map((s) => s.bytes));
  return { from, first, min, max, last: after[after.length - 1].bytes, growth: (after[after.length - 1].bytes - first) / first, spread: (max - min) / first };
}

/** Every `step` seconds: "10s 12.3 MB (WAL 4.0)". */
function timeline(run, step) {
  return run.samples
    .filter((s) => s.second % step === 0)
    .map((s) => `${s.second}s ${mb(s.bytes)} (WAL ${(s.wal / 1024 / 1024).toFixed(1)})`)
    .join(', ');
}

export async function retention(ctx) {
  const retentionSeconds = ctx.sizes.retentionSeconds;
  // Pairs, alternating, so that other load on the machine weighs on both sides alike.
  const pairs = [];
  for (let i = 0; i < ctx.sizes.retentionPairs; i++) {
    const without = await steadyRun(ctx, { label: `without-${i + 1}`, retentionSeconds: 0 });
    ctx.log(`  without retention: ${fmtInt(without.perSecond)} deliveries/s; size ${timeline(without, 10)}`);
    const withRetention = await steadyRun(ctx, { label: `with-${i + 1}`, retentionSeconds });
    ctx.log(`  HERALD_RETENTION=${retentionSeconds}s: ${fmtInt(withRetention.perSecond)} deliveries/s; size ${timeline(withRetention, 10)}`);
    pairs.push({ without, with: withRetention, ratio: withRetention.perSecond / without.perSecond, flat: flatness(withRetention) });
  }
  const ratio = median(pairs.map((p) => p.ratio));
  const flatOk = pairs.every((p) => p.flat.growth <= FLAT_GROWTH);
  const last = pairs[pairs.length - 1];
  const seconds = Math.round(ctx.sizes.retentionMs / 1000);
  return {
    retentionSeconds,
    pairs,
    ratio,
    rows: [
      {
        scenario: `11 retention (${seconds} s steady load, HERALD_RETENTION=${retentionSeconds}s vs 30d, ${pairs.length} pair${pairs.length > 1 ? 's' : ''})`,
        figure:
          `${pairs.map((p) => `${fmtInt(p.with.perSecond)} vs ${fmtInt(p.without.perSecond)}`).join(', ')} deliveries/s; ` +
          `db ${mb(last.with.finalBytes)} vs ${mb(last.without.finalBytes)} at ${seconds} s; ` +
          `after ${last.flat.from} s: ${pairs
            .map((p) => `${mb(p.flat.first)} → ${mb(p.flat.last)} (${(p.flat.growth * 100).toFixed(1)}%; range ${mb(p.flat.min)}–${mb(p.flat.max)})`)
            .join(', ')}`,
        ratio: `${fmtRatio(ratio)} without${pairs.length > 1 ? ` (median of ${pairs.map((p) => fmtRatio(p.ratio)).join(', ')})` : ''}`,
        target: `≥ ${RATIO_TARGET}×, size flat (≤ ${FLAT_GROWTH * 100}% growth)`,
        met: verdict(ratio >= RATIO_TARGET && flatOk, ratio),
      },
    ],
  };
}
