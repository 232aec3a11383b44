/**
 * Which local process sent a request: the receiver's socket is one end of a loopback TCP
 * connection; the other end's inode (from /proc/net/tcp) is held open by exactly one of the
 * Herald processes (found in /proc/<pid>/fd). Lets a test tell "the same worker sent this
 * twice" from "two workers each sent it once" without trusting Herald's own logs.
 */
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
import type { Socket } from 'node:net';

const cache = new WeakMap<Socket, number | undefined>();

function clientInode(clientPort: number, serverPort: number): string | undefined {
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 10) continue;
      const local = Number.parseInt((fields[1] as string).split(':').pop() as string, 16);
      const remote = Number.parseInt((fields[2] as string).split(':').pop() as string, 16);
      if (local === clientPort && remote === serverPort) return fields[9];
    }
  }
  return undefined;
}

/** The pid among `pids` that holds the other end of `socket`, or undefined when none does. */
export function socketOwner(socket: Socket | null | undefined, pids: readonly number[]): number | undefined {
  if (!socket || socket.remotePort === undefined || socket.localPort === undefined) return undefined;
  if (cache.has(socket)) return cache.get(socket);
  const inode = clientInode(socket.remotePort, socket.localPort);
  let owner: number | undefined;
  if (inode !== undefined && inode !== '0') {
    const target = `socket:[${inode}]`;
    search: for (const pid of pids) {
      let fds: string[];
      try {
        fds = readdirSync(`/proc/${pid}/fd`);
      } catch {
        continue;
      }
      for (const fd of fds) {
        try {
          if (readlinkSync(`/proc/${pid}/fd/${fd}`) === target) {
            owner = pid;
            break search;
          }
        } catch {
          // closed meanwhile
        }
      }
    }
  }
  // Only a found owner is final: a socket seen before its process was known may be retried.
  if (owner !== undefined) cache.set(socket, owner);
  return owner;
}
