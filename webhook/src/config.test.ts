import { describe, expect, it } from '@jest/globals';
import { parseListenAddress } from '@steerer/common';
import { loadConfig, serviceDnsNames } from './config.js';

describe('loadConfig', () => {
  it('has defaults for a Helm install', () => {
    const c = loadConfig([], { POD_NAMESPACE: 'istio-system' });
    expect(c).toMatchObject({
      port: 8443,
      namespace: 'istio-system',
      'tls-secret': 'steerer-webhook-tls',
      'service-name': 'steerer-webhook',
      'cert-mode': 'managed',
      'webhook-config-name': 'steerer-webhook',
      'inject-ca-bundle': true,
      'cert-check-interval': 3_600_000,
      'ca-propagation-delay': 5000,
      'max-request-bytes': 6 * 1024 * 1024,
      tlsIps: [],
    });
    expect(c.dnsNames).toEqual(serviceDnsNames('steerer-webhook', 'istio-system'));
    expect(c.dnsNames).toEqual([
      'steerer-webhook',
      'steerer-webhook.istio-system',
      'steerer-webhook.istio-system.svc',
      'steerer-webhook.istio-system.svc.cluster.local',
    ]);
  });

  it('reads flags for a local run', () => {
    const c = loadConfig(
      [
        '--port=0',
        '--tls-ip=127.0.0.1, ::1',
        '--namespace=e2e',
        '--cert-mode=external',
        '--cert-dir',
        '/tmp/x',
      ],
      {},
    );
    expect(c.tlsIps).toEqual(['127.0.0.1', '::1']);
    expect(c['cert-dir']).toBe('/tmp/x');
    expect(c['cert-mode']).toBe('external');
  });

  it.each([
    [['--tls-ip=localhost'], /--tls-ip: "localhost" is not an IP address/],
    [['--cert-mode=cert-manager'], /must be one of managed, external/],
    [['--port=70000'], /between 0 and 65535/],
    [['--nope'], /unknown flag --nope/],
  ])('rejects %j', (argv, message) => {
    expect(() => loadConfig(argv, {})).toThrow(message);
  });
});

describe('parseListenAddress', () => {
  it.each([
    [':8080', undefined, 8080],
    ['127.0.0.1:0', '127.0.0.1', 0],
    ['[::1]:9090', '::1', 9090],
  ])('%s', (addr, host, port) => {
    expect(parseListenAddress('metrics-address', addr)).toEqual({ host, port });
  });

  it('rejects an address without a port', () => {
    expect(() => parseListenAddress('metrics-address', 'localhost')).toThrow(
      /--metrics-address: "localhost" is not host:port/,
    );
  });
});
