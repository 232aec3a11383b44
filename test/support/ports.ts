import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/**
 * A TCP port free on 127.0.0.1, for a server whose address must be known before it starts
 * (a child process, an OAuth redirect URI). It is drawn at random from below the kernel's
 * ephemeral range: "listen on 0, close, reuse" hands out ports that outgoing connections
 * (database clients, webhook deliveries) may take as their local port a moment later.
 */
export async function freePort(): Promise<number> {
  const ephemeralStart = ephemeralRangeStart();
  const low = 20_000;
  const high = Math.max(low + 1000, Math.min(ephemeralStart, 32_768));
  for (let tries = 0; tries < 100; tries++) {
    const port = low + Math.floor(Math.random() * (high - low));
    if (await canListen(port)) return port;
  }
  throw new Error('no free port found');
}

function ephemeralRangeStart(): number {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || 32_768;
  } catch {
    return 32_768;
  }
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}
