import { once } from 'node:events';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import tls from 'node:tls';
import type { TLSSocket } from 'node:tls';
import { afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { generateCertificateMaterial } from './generate.js';
import { inspectCertificate } from './inspect.js';
import type { CertificateMaterial } from './material.js';
import { keyPool } from './testing.js';
import { TlsReloader, tlsContextOptions, type TlsOptions } from './tls-reloader.js';

let a: CertificateMaterial;
let b: CertificateMaterial;
const servers: https.Server[] = [];

beforeAll(async () => {
  const keys = await keyPool(4);
  const gen = () =>
    generateCertificateMaterial({
      dnsNames: ['localhost'],
      ips: ['127.0.0.1'],
      now: new Date(),
      generateKeyPair: keys,
    });
  [a, b] = await Promise.all([gen(), gen()]);
});

afterEach(() => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    server.close();
  }
});

const fingerprint = (m: CertificateMaterial): string =>
  inspectCertificate(m.certPEM).fingerprint256;

/** An HTTPS server on port 0; GET /slow waits until `release()` is called. */
async function startServer(material: CertificateMaterial, options: TlsOptions = {}) {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let arrived!: () => void;
  const slowArrived = new Promise<void>((resolve) => (arrived = resolve));
  const server = https.createServer(tlsContextOptions(material, options), (req, res) => {
    if (req.url === '/slow') {
      arrived();
      void released.then(() => res.end('slow done'));
    } else {
      res.end('ok');
    }
  });
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return { server, port, release, slowArrived };
}

interface Reply {
  status: number | undefined;
  body: string;
  fingerprint: string;
  reusedSocket: boolean;
}

function get(
  port: number,
  path: string,
  ca: string,
  agent: https.Agent | false = false,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, path, ca, agent }, (res) => {
      const peer = (res.socket as TLSSocket).getPeerCertificate();
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () =>
        resolve({
          status: res.statusCode,
          body,
          fingerprint: peer.fingerprint256,
          reusedSocket: req.reusedSocket,
        }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

/** A raw TLS handshake limited to the given protocol versions; resolves to the outcome. */
function handshake(
  port: number,
  ca: string,
  min: tls.SecureVersion,
  max: tls.SecureVersion,
): Promise<string> {
  return new Promise((resolve) => {
    const socket = tls.connect(
      // SECLEVEL=0 lets OpenSSL 3 offer TLS 1.0/1.1 at all; the refusal must come from the server.
      {
        host: '127.0.0.1',
        port,
        ca,
        minVersion: min,
        maxVersion: max,
        ciphers: 'DEFAULT@SECLEVEL=0',
      },
      () => {
        resolve(`connected ${socket.getProtocol() ?? '?'}`);
        socket.end();
      },
    );
    socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

describe('TlsReloader', () => {
  it('gives new connections the new certificate while a request in flight completes on the old one', async () => {
    const { server, port, release, slowArrived } = await startServer(a);
    const reloader = new TlsReloader(server, {}, a);
    expect(reloader.fingerprint).toBe(fingerprint(a));

    const before = await get(port, '/', a.caCertPEM);
    expect(before).toMatchObject({ status: 200, body: 'ok', fingerprint: fingerprint(a) });

    const inFlight = get(port, '/slow', a.caCertPEM);
    await slowArrived;
    expect(reloader.apply(b)).toBe(true);
    expect(reloader.fingerprint).toBe(fingerprint(b));

    const after = await get(port, '/', b.caCertPEM);
    expect(after).toMatchObject({ status: 200, body: 'ok', fingerprint: fingerprint(b) });
    // A client that only trusts the old CA can no longer complete a new handshake.
    await expect(get(port, '/', a.caCertPEM)).rejects.toMatchObject({
      code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
    });

    release();
    expect(await inFlight).toMatchObject({
      status: 200,
      body: 'slow done',
      fingerprint: fingerprint(a),
    });
  });

  it('leaves established keep-alive connections on the old certificate', async () => {
    const { server, port } = await startServer(a);
    const reloader = new TlsReloader(server, {}, a);
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await get(port, '/', a.caCertPEM, agent);
      reloader.apply(b);
      const second = await get(port, '/', a.caCertPEM, agent);
      expect(second).toMatchObject({
        status: 200,
        reusedSocket: true,
        fingerprint: first.fingerprint,
      });
      expect(second.fingerprint).toBe(fingerprint(a));
    } finally {
      agent.destroy();
    }
  });

  it('is a no-op for the material already installed', async () => {
    const { server } = await startServer(a);
    const reloader = new TlsReloader(server, {}, a);
    expect(reloader.apply({ certPEM: a.certPEM, keyPEM: a.keyPEM })).toBe(false);
  });

  it('refuses a key that does not match the certificate and keeps serving the old one', async () => {
    const { server, port } = await startServer(a);
    const reloader = new TlsReloader(server, {}, a);
    expect(() => reloader.apply({ certPEM: b.certPEM, keyPEM: a.keyPEM })).toThrow(
      /does not match/,
    );
    expect((await get(port, '/', a.caCertPEM)).fingerprint).toBe(fingerprint(a));
    expect(reloader.fingerprint).toBe(fingerprint(a));
  });

  it('requires TLS 1.2: a TLS 1.1 client is refused by the server, before and after a swap', async () => {
    // Control: the same client does connect to a server that allows TLS 1.1.
    const { port: permissive } = await startServer(a, {
      minVersion: 'TLSv1',
      base: { ciphers: 'DEFAULT@SECLEVEL=0' },
    });
    expect(await handshake(permissive, a.caCertPEM, 'TLSv1', 'TLSv1.1')).toBe('connected TLSv1.1');

    const { server, port } = await startServer(a);
    expect(await handshake(port, a.caCertPEM, 'TLSv1', 'TLSv1.1')).toBe(
      'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION',
    );
    new TlsReloader(server, {}, a).apply(b);
    expect(await handshake(port, b.caCertPEM, 'TLSv1', 'TLSv1.1')).toBe(
      'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION',
    );
    expect(await handshake(port, b.caCertPEM, 'TLSv1.2', 'TLSv1.2')).toBe('connected TLSv1.2');
  });

  it('re-applies its minVersion on every swap', async () => {
    const { server, port } = await startServer(a, { minVersion: 'TLSv1.3' });
    new TlsReloader(server, { minVersion: 'TLSv1.3' }, a).apply(b);
    expect(await handshake(port, b.caCertPEM, 'TLSv1.2', 'TLSv1.2')).toBe(
      'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION',
    );
    expect(await handshake(port, b.caCertPEM, 'TLSv1.3', 'TLSv1.3')).toBe('connected TLSv1.3');
  });
});
