import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { runCli } from './cli.js';
import { readCertificateDir } from './files.js';
import { verifyChain } from './inspect.js';

const NOW = new Date('2030-03-01T12:00:00Z');
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'steerer-certs-cli-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) }, out, err };
}

describe('cli generate', () => {
  it('writes ca.crt, tls.crt and tls.key (0600) that form a valid chain for the given SANs', async () => {
    const { io, out } = capture();
    const code = await runCli(
      [
        'generate',
        '--out',
        dir,
        '--dns',
        'localhost,steerer-webhook.istio-system.svc',
        '--ip',
        '127.0.0.1',
        '--days',
        '2',
      ],
      io,
      () => NOW,
    );
    expect(code).toBe(0);
    expect(out[0]).toBe(
      `wrote ${['ca.crt', 'tls.crt', 'tls.key'].map((f) => join(dir, f)).join(', ')}`,
    );
    expect(out[1]).toContain('valid until 2030-03-03T12:00:00.000Z');
    expect(out.join('\n')).not.toContain('PRIVATE KEY');
    expect((await stat(join(dir, 'tls.key'))).mode & 0o777).toBe(0o600);
    await expect(stat(join(dir, 'ca.key'))).rejects.toMatchObject({ code: 'ENOENT' });

    const material = await readCertificateDir(dir);
    expect(material.caKeyPEM).toBeUndefined();
    expect(verifyChain(material.caCertPEM, material.certPEM)).toBe(true);
    const leaf = new X509Certificate(await readFile(join(dir, 'tls.crt')));
    expect(leaf.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(leaf.checkHost('localhost', { subject: 'never' })).toBe('localhost');
  });

  it('inspect reports the written material', async () => {
    const { io, out } = capture();
    expect(await runCli(['inspect', '--dir', dir], io)).toBe(0);
    expect(JSON.parse(out.join('\n'))).toMatchObject({
      dnsNames: ['localhost', 'steerer-webhook.istio-system.svc'],
      ips: ['127.0.0.1'],
      keyMatches: true,
      signedByCA: true,
    });
  });

  it.each([
    [[], 2, /usage/],
    [['generate'], 2, /--out is required/],
    [['generate', '--out', 'x', '--bogus'], 2, /Unknown option/],
    [['generate', '--out', 'x', '--days', '0'], 2, /--days must be a positive integer/],
    [['generate', '--out', 'x', '--dns', 'Not_Valid'], 1, /invalid DNS name/],
  ])('%j exits %i', async (argv, expected, message) => {
    const { io, err } = capture();
    expect(await runCli(argv, io, () => NOW)).toBe(expected);
    expect(err.join('\n')).toMatch(message);
  });
});
