#!/usr/bin/env node
// Summarises a V8 .cpuprofile (node --cpu-prof): self time by function, by module
// (package, Node internals, Herald source file), and by the nearest Herald function on the
// stack (where Herald's own code paths spend, library time included).
//   node bench/profile-summary.mjs <file.cpuprofile> [--top 25] [--json]
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

function moduleOf(url, functionName) {
  if (!url) return functionName.startsWith('(') ? functionName : `(native) ${functionName || 'anonymous'}`;
  if (url.startsWith('node:')) {
    const path = url.slice(5).replace(/^internal\//, '');
    return `node:${path.split('/').slice(0, 2).join('/')}`;
  }
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 14).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  if (url.includes('/bench/lib/')) return '(bench instrumentation)';
  const dist = url.indexOf('/dist/');
  if (dist >= 0) return `herald:${url.slice(dist + 6).replace(/\.js$/, '.ts')}`;
  return url.replace(/^file:\/\//, '');
}

function frameName(callFrame) {
  const { functionName, url, lineNumber } = callFrame;
  const where = url ? `${moduleOf(url, functionName)}:${lineNumber + 1}` : '';
  return `${functionName || '(anonymous)'}${where ? ` ${where}` : ''}`;
}

/** A coarse bucket for a frame: where the CPU goes, in terms a src change can address. */
function categoryOf(callFrame, module) {
  const fn = callFrame.functionName;
  if (fn === '(garbage collector)') return 'garbage collection';
  if (fn === '(idle)') return 'idle';
  if (fn === '(program)') return 'V8/native other (program)';
  if (module === '(bench instrumentation)') return 'bench instrumentation';
  if (['kysely', 'better-sqlite3', 'pg', 'pg-protocol', 'pg-pool'].includes(module)) return 'database (driver + query builder)';
  if (module.startsWith('(native)') && ['all', 'run', 'get', 'iterate', 'Statement', 'prepare', 'exec', 'pragma'].includes(fn)) {
    return 'database (SQLite engine, native)';
  }
  if (module === 'undici' || module.startsWith('wasm://')) return 'HTTP client (undici)';
  const nodeNet = /^node:(net|_http|http|streams|stream_base|tcp|dns|abort_controller|event_target|timers|buffer|url)/.test(module);
  const nativeNet = module.startsWith('(native)') && ['writev', 'writeUtf8String', 'writeBuffer', 'connect', 'init', 'close'].includes(fn);
  if (nodeNet || nativeNet) {
    return 'Node networking, streams, timers, buffers';
  }
  if (module === 'node:crypto/hash' || (module.startsWith('(native)') && ['Hmac', 'digest', 'update', 'Hash'].includes(fn))) return 'crypto (HMAC, hashes)';
  if (['fastify', 'find-my-way', 'avvio', 'ajv', 'fast-json-stringify', 'secure-json-parse', 'light-my-request', '@fastify/ajv-compiler'].includes(module)) {
    return 'API (Fastify, validation, JSON)';
  }
  if (module === 'pino' || module === 'prom-client' || module === 'sonic-boom') return 'logging and metrics';
  if (module.startsWith('herald:')) return 'Herald code (own JS)';
  if (module === 'node:events' || module === 'node:process/task_queues' || fn === 'runMicrotasks') return 'promises, events, microtasks';
  return 'other';
}

export function summarizeProfile(profile, top = 25) {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map();
  const deltas = profile.timeDeltas ?? [];
  profile.samples.forEach((id, i) => {
    const next = deltas[i + 1] ?? 0; // the time until the next sample belongs to this one
    self.set(id, (self.get(id) ?? 0) + Math.max(0, next));
  });
  let total = 0;
  for (const v of self.values()) total += v;

  const byFunction = new Map();
  const byModule = new Map();
  const byCategory = new Map();
  const byHeraldCaller = new Map();
  const heraldFrameOf = new Map();
  const nearestHerald = (id) => {
    if (heraldFrameOf.has(id)) return heraldFrameOf.get(id);
    let cur = id;
    let found = '(no Herald frame on the stack)';
    while (cur !== undefined) {
      const cf = nodes.get(cur).callFrame;
      if (cf.url && cf.url.includes('/dist/') && !cf.url.includes('/node_modules/')) {
        found = frameName(cf);
        break;
      }
      cur = parent.get(cur);
    }
    heraldFrameOf.set(id, found);
    return found;
  };
  for (const [id, us] of self) {
    const cf = nodes.get(id).callFrame;
    const fn = frameName(cf);
    byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
    const mod = moduleOf(cf.url, cf.functionName);
    byModule.set(mod, (byModule.get(mod) ?? 0) + us);
    const cat = categoryOf(cf, mod);
    byCategory.set(cat, (byCategory.get(cat) ?? 0) + us);
    if (cf.functionName !== '(idle)' && cf.functionName !== '(program)' && cf.functionName !== '(garbage collector)') {
      const h = nearestHerald(id);
      byHeraldCaller.set(h, (byHeraldCaller.get(h) ?? 0) + us);
    }
  }
  const rank = (map) =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, us]) => ({ name, ms: Math.round(us / 1000), percent: +((100 * us) / total).toFixed(1) }));
  const idle = (byFunction.get('(idle)') ?? 0) / 1000;
  return {
    totalMs: Math.round(total / 1000),
    busyMs: Math.round(total / 1000 - idle),
    byCategory: rank(byCategory),
    byModule: rank(byModule),
    byFunction: rank(byFunction),
    byHeraldCaller: rank(byHeraldCaller),
  };
}

export function formatSummary(summary) {
  const lines = [];
  const table = (title, rows) => {
    lines.push(title);
    for (const r of rows) lines.push(`  ${String(r.percent).padStart(5)}%  ${String(r.ms).padStart(7)} ms  ${r.name}`);
    lines.push('');
  };
  lines.push(`profile: ${summary.totalMs} ms sampled, ${summary.busyMs} ms not idle`, '');
  table('self time by category', summary.byCategory);
  table('self time by module', summary.byModule);
  table('self time by function', summary.byFunction);
  table('non-idle time by nearest Herald function on the stack (library time included)', summary.byHeraldCaller);
  return lines.join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { top: { type: 'string', default: '25' }, json: { type: 'boolean', default: false } },
  });
  if (positionals.length === 0) {
    console.error('usage: node bench/profile-summary.mjs <file.cpuprofile> [--top N] [--json]');
    process.exit(2);
  }
  for (const file of positionals) {
    const summary = summarizeProfile(JSON.parse(readFileSync(file, 'utf8')), Number(values.top));
    console.log(values.json ? JSON.stringify(summary, null, 2) : `${file}\n${formatSummary(summary)}`);
  }
}
