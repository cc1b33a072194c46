// Server-sent events: one named event per message, a comment every 15 s so proxies and the
// browser keep the connection, and one cleanup when the page goes away.

import type http from 'node:http';

export const HEARTBEAT_MS = 15_000;

export interface EventStream<E> {
  send<K extends keyof E & string>(event: K, data: E[K]): void;
  /** Runs `f` once when the client goes away (or the stream is ended). */
  onClose(f: () => void): void;
  end(): void;
}

export function openStream<E>(req: http.IncomingMessage, res: http.ServerResponse): EventStream<E> {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  // Tell the browser to reconnect quickly after the server restarts.
  res.write('retry: 1000\n\n');
  const closers: (() => void)[] = [];
  let closed = false;
  const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
  const close = (): void => {
    if (closed) return;
    closed = true;
    clearInterval(heartbeat);
    for (const f of closers.splice(0)) f();
  };
  req.on('close', close);
  res.on('close', close);
  return {
    send(event, data) {
      if (closed) return;
      res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    },
    onClose(f) {
      if (closed) f();
      else closers.push(f);
    },
    end() {
      close();
      res.end();
    },
  };
}
