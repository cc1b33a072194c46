import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadKubeCredentials } from './kubeconfig.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'steerer-kubeconfig-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function kubeconfig(user: Record<string, unknown>, cluster: Record<string, unknown> = {}): string {
  const file = join(dir, 'config');
  writeFileSync(
    file,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': 'here',
      contexts: [
        { name: 'elsewhere', context: { cluster: 'other', user: 'other' } },
        { name: 'here', context: { cluster: 'c', user: 'u' } },
      ],
      clusters: [{ name: 'c', cluster: { server: 'https://api.example:6443', ...cluster } }],
      users: [{ name: 'u', user }],
    }),
  );
  return file;
}

async function options(file: string): Promise<https.RequestOptions> {
  const kc = await loadKubeCredentials({ file, env: {} });
  const opts: https.RequestOptions = {};
  await kc.applyToHTTPSOptions(opts);
  return opts;
}

describe('loadKubeCredentials', () => {
  it('reads client certificates from files relative to the kubeconfig, and the CA inline', async () => {
    mkdirSync(join(dir, 'pki'));
    writeFileSync(join(dir, 'pki/admin.crt'), 'CERT');
    writeFileSync(join(dir, 'pki/admin.key'), 'KEY');
    const file = kubeconfig(
      { 'client-certificate': 'pki/admin.crt', 'client-key': 'pki/admin.key' },
      { 'certificate-authority-data': Buffer.from('CA').toString('base64') },
    );
    const kc = await loadKubeCredentials({ file, env: {} });
    expect(kc.getCurrentCluster()?.server).toBe('https://api.example:6443');
    const opts = await options(file);
    expect(opts.ca).toEqual(Buffer.from('CA'));
    expect(opts.cert).toEqual(Buffer.from('CERT'));
    expect(opts.key).toEqual(Buffer.from('KEY'));
    expect(opts.rejectUnauthorized).toBeUndefined();
  });

  it('sends a token, re-reading a token file each time (it may be rotated)', async () => {
    expect((await options(kubeconfig({ token: 'abc' }))).headers).toEqual({
      Authorization: 'Bearer abc',
    });
    writeFileSync(join(dir, 'token'), 'one\n');
    const kc = await loadKubeCredentials({ file: kubeconfig({ tokenFile: 'token' }), env: {} });
    const first: https.RequestOptions = {};
    await kc.applyToHTTPSOptions(first);
    writeFileSync(join(dir, 'token'), 'two\n');
    const second: https.RequestOptions = {};
    await kc.applyToHTTPSOptions(second);
    expect([first.headers, second.headers]).toEqual([
      { Authorization: 'Bearer one' },
      { Authorization: 'Bearer two' },
    ]);
  });

  it('honours insecure-skip-tls-verify, tls-server-name and basic auth', async () => {
    const opts = await options(
      kubeconfig(
        { username: 'me', password: 'pw' },
        { 'insecure-skip-tls-verify': true, 'tls-server-name': 'kubernetes' },
      ),
    );
    expect(opts).toMatchObject({
      rejectUnauthorized: false,
      servername: 'kubernetes',
      auth: 'me:pw',
    });
  });

  it('uses the pod service account when there is no kubeconfig', async () => {
    writeFileSync(join(dir, 'token'), 'sa-token');
    writeFileSync(join(dir, 'ca.crt'), 'SA-CA');
    const kc = await loadKubeCredentials({
      env: { KUBERNETES_SERVICE_HOST: 'fd00::1', KUBERNETES_SERVICE_PORT: '443' },
      home: join(dir, 'nohome'),
      serviceAccountDir: dir,
    });
    expect(kc.getCurrentCluster()?.server).toBe('https://[fd00::1]:443');
    const opts: https.RequestOptions = {};
    await kc.applyToHTTPSOptions(opts);
    expect(opts.ca).toEqual(Buffer.from('SA-CA'));
    expect(opts.headers).toEqual({ Authorization: 'Bearer sa-token' });
  });

  it('hands a kubeconfig with an exec plugin to client-node', async () => {
    const file = kubeconfig({
      exec: { apiVersion: 'client.authentication.k8s.io/v1', command: 'x' },
    });
    const kc = await loadKubeCredentials({ file, env: {} });
    expect(kc.constructor.name).toBe('KubeConfig');
    expect(kc.getCurrentCluster()?.server).toBe('https://api.example:6443');
  });

  it('says what is wrong with a kubeconfig it cannot use', async () => {
    writeFileSync(join(dir, 'bad'), 'apiVersion: v1\nkind: Config\n');
    await expect(loadKubeCredentials({ file: join(dir, 'bad'), env: {} })).rejects.toThrow(
      /no current-context/,
    );
  });
});
