// A minimal request/answer protocol over the IPC channel of a forked bench child.

/**
 * Child side: answers `{ id, cmd, args }` messages with `{ id, ok, result | error }`.
 * A handler may also push `{ event, data }` messages through `emit`. The child exits when
 * its parent goes away (the IPC channel closes), so no bench process outlives the run.
 */
export function serveRpc(handlers) {
  if (!process.send) throw new Error('this module is a bench child: start it with child_process.fork');
  process.on('disconnect', () => process.exit(0));
  process.on('message', async (message) => {
    if (!message || typeof message.id !== 'number') return;
    const handler = handlers[message.cmd];
    try {
      if (!handler) throw new Error(`unknown command ${message.cmd}`);
      const result = await handler(message.args ?? {});
      if (process.connected) process.send({ id: message.id, ok: true, result });
    } catch (error) {
      if (process.connected) {
        process.send({ id: message.id, ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
      }
    }
  });
  return {
    emit(event, data) {
      if (process.connected) process.send({ event, data });
    },
  };
}

/** Parent side: `call(cmd, args)` returns the child's answer; `on(event, fn)` hears pushes. */
export function rpcClient(child, name) {
  let next = 1;
  const pending = new Map();
  const listeners = new Map();
  child.on('message', (message) => {
    if (message && typeof message.id === 'number') {
      const p = pending.get(message.id);
      if (!p) return;
      pending.delete(message.id);
      if (message.ok) p.resolve(message.result);
      else p.reject(new Error(`${name}: ${message.error}`));
    } else if (message && message.event) {
      for (const fn of listeners.get(message.event) ?? []) fn(message.data);
    }
  });
  child.on('exit', (code, signal) => {
    for (const p of pending.values()) p.reject(new Error(`${name} exited (code ${code}, signal ${signal})`));
    pending.clear();
  });
  return {
    call(cmd, args) {
      return new Promise((resolve, reject) => {
        const id = next++;
        pending.set(id, { resolve, reject });
        try {
          child.send({ id, cmd, args });
        } catch (error) {
          pending.delete(id);
          reject(error);
        }
      });
    },
    on(event, fn) {
      const list = listeners.get(event) ?? [];
      list.push(fn);
      listeners.set(event, list);
    },
  };
}
