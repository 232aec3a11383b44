// The webhook receiver: a bench child process with N minimal HTTP servers on 127.0.0.1
// (one port = one endpoint = one origin). It answers 200, counts requests, de-duplicates
// on `webhook-id`, and records arrival times; in latency mode it also reads the send
// timestamp from the body. "Hanging" endpoints read the request and never answer.
import { createServer } from 'node:http';
import { now, summarize } from './common.mjs';
import { serveRpc } from './rpc.mjs';

let answer = 'OK';
let HEADERS = { 'content-type': 'text/plain', 'content-length': '2' };

let servers = [];
let hanging = new Set();
const held = new Set();
let latencyMode = false;
let dedup = true;
let state;
let waiter;

function reset() {
  state = {
    count: 0,
    distinct: 0,
    duplicates: 0,
    hung: 0,
    first: 0,
    last: 0,
    perPort: new Uint32Array(servers.length),
    seen: new Set(),
    buckets: new Map(),
    latencies: [],
    // Send second → that second's latencies: the per-second series shows when a tail happened.
    latencyBySecond: new Map(),
    ignored: 0,
    connections: 0,
    closed: 0,
  };
}

function check() {
  if (waiter && state.distinct >= waiter.target) {
    const w = waiter;
    waiter = undefined;
    w.resolve(snapshot());
  }
}

function snapshot() {
  let minPort = Infinity;
  let maxPort = 0;
  state.perPort.forEach((n, i) => {
    if (hanging.has(i)) return;
    if (n < minPort) minPort = n;
    if (n > maxPort) maxPort = n;
  });
  return {
    count: state.count,
    distinct: state.distinct,
    duplicates: state.duplicates,
    hung: state.hung,
    first: state.first,
    last: state.last,
    perEndpoint: { min: minPort === Infinity ? 0 : minPort, max: maxPort },
    connections: state.connections,
    closed: state.closed,
  };
}

function makeHandler(index) {
  if (hanging.has(index)) {
    return (req, res) => {
      state.hung++;
      req.resume();
      held.add(res);
      res.on('close', () => held.delete(res));
    };
  }
  return (req, res) => {
    let body = '';
    if (latencyMode) {
      req.setEncoding('utf8');
      req.on('data', (chunk) => {
        body += chunk;
      });
    } else {
      req.resume();
    }
    req.on('end', () => {
      const t = now();
      res.writeHead(200, HEADERS);
      res.end(answer);
      state.count++;
      state.perPort[index]++;
      let sent;
      if (latencyMode) {
        // Only events tagged `t:` are timed and counted; others (a warm-up) are ignored.
        const match = /"description":"t:([0-9.]+)"/.exec(body);
        if (!match) {
          state.ignored++;
          return;
        }
        sent = Number(match[1]);
      }
      const id = req.headers['webhook-id'];
      if (dedup && id !== undefined) {
        if (state.seen.has(id)) {
          state.duplicates++;
          return;
        }
        state.seen.add(id);
      }
      state.distinct++;
      if (state.first === 0) state.first = t;
      state.last = t;
      const second = Math.floor(t / 1000);
      state.buckets.set(second, (state.buckets.get(second) ?? 0) + 1);
      if (latencyMode) {
        state.latencies.push(t - sent);
        const sentSecond = Math.floor(sent / 1000);
        const list = state.latencyBySecond.get(sentSecond);
        if (list) list.push(t - sent);
        else state.latencyBySecond.set(sentSecond, [t - sent]);
      }
      if (waiter) check();
    });
  };
}

async function stopServers() {
  for (const res of held) res.destroy();
  held.clear();
  await Promise.all(
    servers.map(
      (s) =>
        new Promise((resolve) => {
          s.closeAllConnections();
          s.close(() => resolve());
        }),
    ),
  );
  servers = [];
}

serveRpc({
  /** `{ endpoints, hang: [index…], latency, dedup, bodyBytes }` → `{ urls }`; `bodyBytes`: size of each answer (default 2, "OK"). */
  async start({ endpoints = 1, hang = [], latency = false, dedup: dd = true, bodyBytes = 2 }) {
    await stopServers();
    answer = bodyBytes === 2 ? 'OK' : 'O'.repeat(bodyBytes);
    HEADERS = { 'content-type': 'text/plain', 'content-length': String(Buffer.byteLength(answer)) };
    hanging = new Set(hang);
    latencyMode = latency;
    dedup = dd;
    servers = Array.from({ length: endpoints }, () => null);
    reset();
    const urls = [];
    for (let i = 0; i < endpoints; i++) {
      const server = createServer({ keepAliveTimeout: 60_000, requestTimeout: 0 }, makeHandler(i));
      server.keepAliveTimeout = 60_000;
      server.on('connection', (socket) => {
        state.connections++;
        socket.on('close', () => {
          state.closed++;
        });
      });
      server.headersTimeout = 65_000;
      await new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', 1024, resolve);
      });
      servers[i] = server;
      urls.push(`http://127.0.0.1:${server.address().port}/hook/${i}`);
    }
    return { urls };
  },
  reset() {
    reset();
    return true;
  },
  /** Resolves once `target` distinct requests have reached the answering endpoints. */
  expect({ target }) {
    return new Promise((resolve) => {
      waiter = { target, resolve };
      check();
    });
  },
  stats() {
    return snapshot();
  },
  /** Ingest-to-receipt latencies (latency mode), plus the per-second arrival counts. */
  report() {
    const seconds = [...state.buckets.entries()].sort((a, b) => a[0] - b[0]).map(([s, n]) => [s, n]);
    return {
      ...snapshot(),
      ignored: state.ignored,
      latency: state.latencies.length ? summarize(state.latencies) : undefined,
      perSecond: seconds.map(([, n]) => n),
      latencyPerSecond: [...state.latencyBySecond.entries()]
        .sort((a, b) => a[0] - b[0])
        .map(([second, values]) => {
          const l = summarize(values);
          return { second, n: l.count, p50: +l.p50.toFixed(2), p99: +l.p99.toFixed(2), max: +l.max.toFixed(2) };
        }),
    };
  },
  async stop() {
    await stopServers();
    return true;
  },
});
