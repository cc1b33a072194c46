#!/usr/bin/env node
// Command-line access to the certificate code for local runs and e2e tests, which serve the
// webhook from files and register it by URL on 127.0.0.1:
//   node certs/dist/cli.js generate --out DIR --dns a,b --ip 127.0.0.1 [--days 365] [--ca-days 3650]
//   node certs/dist/cli.js inspect --dir DIR
/* eslint-disable no-console -- the CLI is the one place that prints. */

import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { readCertificateDir, writeCertificateDir } from './files.js';
import { generateCertificateMaterial } from './generate.js';
import { inspectCertificate, keyMatchesCertificate, verifyChain } from './inspect.js';

const USAGE = `usage:
  cli.js generate --out DIR [--dns a,b,...] [--ip 127.0.0.1,...] [--days N] [--ca-days N] [--include-ca-key]
  cli.js inspect --dir DIR`;

const DAY_MS = 24 * 60 * 60 * 1000;

export interface CliIO {
  out: (line: string) => void;
  err: (line: string) => void;
}

/** Runs the CLI; returns the process exit code (0 ok, 1 failure, 2 usage). */
export async function runCli(
  argv: readonly string[],
  io: CliIO = { out: console.log, err: console.error },
  now: () => Date = () => new Date(),
): Promise<number> {
  const [command, ...rest] = argv;
  try {
    if (command === 'generate') return await generate(rest, io, now());
    if (command === 'inspect') return await inspect(rest, io);
    io.err(USAGE);
    return 2;
  } catch (error) {
    if (
      error instanceof UsageError ||
      (error as { code?: unknown }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION'
    ) {
      io.err(`${(error as Error).message}\n${USAGE}`);
      return 2;
    }
    io.err(`error: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}

class UsageError extends Error {}

async function generate(args: readonly string[], io: CliIO, now: Date): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: {
      out: { type: 'string' },
      dns: { type: 'string', default: '' },
      ip: { type: 'string', default: '' },
      days: { type: 'string', default: '365' },
      'ca-days': { type: 'string', default: '3650' },
      'include-ca-key': { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.out === undefined || values.out === '') throw new UsageError('--out is required');
  const material = await generateCertificateMaterial({
    dnsNames: list(values.dns),
    ips: list(values.ip),
    now,
    validityMs: positiveDays('--days', values.days) * DAY_MS,
    caValidityMs: positiveDays('--ca-days', values['ca-days']) * DAY_MS,
  });
  const files = await writeCertificateDir(values.out, material, {
    includeCAKey: values['include-ca-key'],
  });
  const info = inspectCertificate(material.certPEM);
  io.out(`wrote ${files.join(', ')}`);
  io.out(`serving certificate ${info.fingerprint256} valid until ${info.notAfter.toISOString()}`);
  return 0;
}

async function inspect(args: readonly string[], io: CliIO): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    options: { dir: { type: 'string' } },
    strict: true,
  });
  if (values.dir === undefined || values.dir === '') throw new UsageError('--dir is required');
  const material = await readCertificateDir(values.dir);
  const info = inspectCertificate(material.certPEM);
  io.out(
    JSON.stringify(
      {
        ...info,
        keyMatches: keyMatchesCertificate(material.certPEM, material.keyPEM),
        signedByCA:
          material.caCertPEM === '' ? null : verifyChain(material.caCertPEM, material.certPEM),
      },
      null,
      2,
    ),
  );
  return 0;
}

function list(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

function positiveDays(flag: string, value: string | undefined): number {
  const days = Number(value);
  if (!Number.isInteger(days) || days <= 0)
    throw new UsageError(`${flag} must be a positive integer`);
  return days;
}

function invokedDirectly(): boolean {
  const script = process.argv[1];
  if (script === undefined) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (invokedDirectly()) {
  process.exitCode = await runCli(process.argv.slice(2));
}
