import { describe, expect, it } from '@jest/globals';
import { parseConfig, parseLoadSpecs } from './config.js';

function ok(argv: string[], env: Record<string, string> = {}) {
  const r = parseConfig(argv, env);
  if (r.kind !== 'ok') throw new Error(`expected ok, got ${JSON.stringify(r)}`);
  return r;
}

describe('parseConfig', () => {
  it('has loopback defaults with picked ports', () => {
    const { config, warnings } = ok([]);
    expect(config).toMatchObject({
      host: '127.0.0.1',
      gatewayPort: 0,
      metricsPort: 0,
      namespace: undefined,
      labelSelector: undefined,
      stateFile: undefined,
      sourceReporter: true,
      logLevel: 'info',
    });
    expect(config.load.size).toBe(0);
    expect(warnings).toEqual([]);
  });

  it('reads flags in both forms, flags over env', () => {
    const { config } = ok(
      [
        '--gateway-port',
        '8080',
        '--metrics-port=9090',
        '--namespace',
        'test',
        '--load',
        'test/podinfo=200',
        '--load=test/b=5@/status/200',
        '--no-source-reporter',
        '--state-file',
        '/tmp/s.json',
        '--label-selector=mesh.steerer.io/simulate!=false',
      ],
      { MESH_GATEWAY_PORT: '1', MESH_NAMESPACE: 'other', MESH_LOAD: 'x/y=1' },
    );
    expect(config).toMatchObject({
      gatewayPort: 8080,
      metricsPort: 9090,
      namespace: 'test',
      sourceReporter: false,
      stateFile: '/tmp/s.json',
      labelSelector: 'mesh.steerer.io/simulate!=false',
    });
    expect([...config.load]).toEqual([
      ['test/podinfo', { rps: 200, path: '/' }],
      ['test/b', { rps: 5, path: '/status/200' }],
    ]);
  });

  it('reads the environment, treating blanks as unset', () => {
    const { config } = ok([], {
      MESH_HOST: '0.0.0.0',
      MESH_METRICS_PORT: '9100',
      MESH_NAMESPACE: '  ',
      MESH_LOAD: 'test/podinfo=200,test/other=10',
      MESH_SOURCE_REPORTER: 'false',
      MESH_LOG_LEVEL: 'debug',
      KUBECONFIG: '/tmp/kc',
    });
    expect(config).toMatchObject({
      host: '0.0.0.0',
      metricsPort: 9100,
      namespace: undefined,
      sourceReporter: false,
      logLevel: 'debug',
      kubeconfig: '/tmp/kc',
    });
    expect(config.load.size).toBe(2);
  });

  it('leaves a multi-file KUBECONFIG to client-node', () => {
    expect(ok([], { KUBECONFIG: '/a:/b' }).config.kubeconfig).toBeUndefined();
    expect(ok(['--kubeconfig', '/c'], { KUBECONFIG: '/a:/b' }).config.kubeconfig).toBe('/c');
  });

  it('warns and defaults on bad environment values', () => {
    const { config, warnings } = ok([], {
      MESH_GATEWAY_PORT: 'eighty',
      MESH_LOAD: 'nonsense',
      MESH_LOG_LEVEL: 'loud',
    });
    expect(config.gatewayPort).toBe(0);
    expect(config.load.size).toBe(0);
    expect(config.logLevel).toBe('info');
    expect(warnings).toHaveLength(3);
  });

  it.each([
    [['--gateway-port', '70000'], 'not a port'],
    [['--load', 'podinfo=200'], 'bad load spec'],
    [['--bogus'], 'unknown flag --bogus'],
    [['--namespace'], 'needs a value'],
    [['stray'], 'unexpected argument'],
  ])('rejects %j', (argv, message) => {
    const r = parseConfig(argv, {});
    expect(r.kind).toBe('error');
    if (r.kind === 'error') expect(r.message).toContain(message);
  });

  it('recognises --help', () => {
    expect(parseConfig(['--help'], {})).toEqual({ kind: 'help' });
  });
});

describe('parseLoadSpecs', () => {
  it('parses fractional rates and ignores empty parts', () => {
    expect(parseLoadSpecs('a/b=0.5, ,c/d=10')).toEqual({
      ok: true,
      value: new Map([
        ['a/b', { rps: 0.5, path: '/' }],
        ['c/d', { rps: 10, path: '/' }],
      ]),
    });
  });
});
