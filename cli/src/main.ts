#!/usr/bin/env node
// kubectl-steerer: the process around cli.ts — real stdout/stderr and terminal size,
// Ctrl-C and SIGTERM, the user's kubeconfig. `kubectl steerer …` runs this from PATH.

import { abortableSleep, errorMessage } from '@steerer/common';
import { run } from './cli.js';
import type { Output } from './io.js';
import { connect } from './kube.js';

function output(stream: NodeJS.WriteStream): Output {
  return {
    write: (text) => {
      stream.write(text);
    },
    get isTTY() {
      return stream.isTTY;
    },
    get columns() {
      return stream.isTTY ? stream.columns : undefined;
    },
    get rows() {
      return stream.isTTY ? stream.rows : undefined;
    },
    onResize(listener) {
      stream.on('resize', listener);
      return () => stream.off('resize', listener);
    },
  };
}

const stop = new AbortController();
process.once('SIGINT', () => stop.abort());
process.once('SIGTERM', () => stop.abort());
// A reader that went away (`… | head -1`): stop quietly rather than crash.
process.stdout.on('error', () => stop.abort());
process.on('uncaughtException', (e) => {
  process.stderr.write(`error: ${errorMessage(e)}\n`);
  process.exit(1);
});

process.exitCode = await run(process.argv.slice(2), {
  out: output(process.stdout),
  err: output(process.stderr),
  signal: stop.signal,
  now: Date.now,
  sleep: abortableSleep,
  every: (ms, tick) => {
    const timer = setInterval(tick, ms);
    return () => clearInterval(timer);
  },
  connect: (opts) => connect(opts, stop.signal),
});
