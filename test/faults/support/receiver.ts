/**
 * A real receiver (test/support/receiver.ts) that answers after a chosen delay, or holds
 * requests until released, and knows how many requests are open right now and which
 * Herald process sent each one.
 */
import type { ServerResponse } from 'node:http';
import { type Received, type Receiver, startReceiver } from '../../support/receiver.js';
import { socketOwner } from './socket-owner.js';

export interface FaultReceiverOptions {
  /** Milliseconds before the answer; 0 by default. */
  delayMs?: (req: Received) => number;
  status?: number;
  body?: string | Buffer;
  /** Pids to attribute requests to (read when a request arrives). */
  senders?: () => readonly number[];
}

export interface FaultReceiver extends Receiver {
  /** Requests received and not answered (or abandoned by the sender) yet. */
  open(): number;
  /** Open requests sent by one pid. */
  openBy(pid: number): number;
  /** The pid that sent a request, when `senders` was given and the sender was found. */
  senderOf(req: Received): number | undefined;
  /** From now on, keep new requests open until `release()` (or until the sender gives up). */
  hold(on: boolean): void;
  /** Answers every held request now. */
  release(): void;
  /** Requests whose sender closed the connection before the answer. */
  abandoned: Received[];
  setDelay(delayMs: (req: Received) => number): void;
}

export async function startFaultReceiver(options: FaultReceiverOptions = {}): Promise<FaultReceiver> {
  let delayMs = options.delayMs ?? (() => 0);
  const status = options.status ?? 200;
  const body = options.body ?? 'OK';
  const senders = new Map<Received, number | undefined>();
  const openRequests = new Set<Received>();
  const held = new Map<Received, ServerResponse>();
  const abandoned: Received[] = [];
  let holding = false;

  const answer = (req: Received, res: ServerResponse) => {
    held.delete(req);
    openRequests.delete(req);
    if (res.destroyed || res.writableEnded) return;
    res.writeHead(status, { 'content-type': 'text/plain' }).end(body);
  };

  const receiver = await startReceiver((req, res) => {
    if (options.senders) senders.set(req, socketOwner(res.socket, options.senders()));
    openRequests.add(req);
    res.once('close', () => {
      if (!res.writableEnded) abandoned.push(req);
      openRequests.delete(req);
      held.delete(req);
    });
    if (holding) {
      held.set(req, res);
      return;
    }
    const wait = delayMs(req);
    if (wait <= 0) answer(req, res);
    else setTimeout(() => answer(req, res), wait);
  }, (socket) => {
    // Looked up the moment the connection is accepted, while the sender surely holds it: a
    // request read later (a loaded machine) may find its sender already gone (timed out).
    if (options.senders) socketOwner(socket, options.senders());
  });

  return Object.assign(receiver, {
    abandoned,
    open: () => openRequests.size,
    openBy: (pid: number) => [...openRequests].filter((r) => senders.get(r) === pid).length,
    senderOf: (req: Received) => senders.get(req),
    hold(on: boolean) {
      holding = on;
    },
    release() {
      for (const [req, res] of [...held]) answer(req, res);
    },
    setDelay(next: (req: Received) => number) {
      delayMs = next;
    },
  });
}

/** A delay drawn uniformly from [min, max] milliseconds. */
export const between = (min: number, max: number) => () => min + Math.floor(Math.random() * (max - min + 1));

/**
 * Several receivers (each its own origin: outbound socket limits are per origin) seen as
 * one: their requests together, their open requests summed.
 */
export interface ReceiverGroup {
  receivers: FaultReceiver[];
  /** The URL of `path` on receiver `index` (wrapping around). */
  url(index: number, path: string): string;
  received(): Received[];
  open(): number;
  close(): Promise<void>;
}

export async function startReceivers(count: number, options: FaultReceiverOptions = {}): Promise<ReceiverGroup> {
  const receivers = await Promise.all(Array.from({ length: count }, () => startFaultReceiver(options)));
  return {
    receivers,
    url: (index, path) => `http://127.0.0.1:${(receivers[index % count] as FaultReceiver).port}${path}`,
    received: () => receivers.flatMap((r) => r.received),
    open: () => receivers.reduce((n, r) => n + r.open(), 0),
    async close() {
      await Promise.all(receivers.map((r) => r.close()));
    },
  };
}
