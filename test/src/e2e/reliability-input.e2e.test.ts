// Hostile and broken input on the real API server: every invalid Rollout of the shared
// table is refused by the CRD schema or the webhook with a message naming the field;
// VirtualServices edited by hand mid-rollout are restored (weights) or halt the rollout
// with a clear reason (route removed), and Steerer never fights the user in a loop.
// Without a working webhook, the CRD alone refuses every invalid Rollout of the table and
// valid ones are still admitted (the Rollout webhook's failurePolicy is Ignore).

import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { rmSync } from 'node:fs';
import {
  INVALID_ROLLOUT_CASES,
  VALID_ROLLOUT_CASES,
  specWith,
} from '@steerer/common/testing/rollout-cases';
import { appManifests, canaryDeployment, namespaceManifest, rolloutManifest } from './apps.js';
import type { AppOptions } from './apps.js';
import type { SteererProcess } from './harness.js';
import {
  REPO,
  applyYaml,
  deleteNamespace,
  freePort,
  installCrd,
  kubectl,
  kubectlJson,
  kubectlResult,
  processEnv,
  rolloutEvents,
  rolloutStatus,
  setLoad,
  startController,
  startLocalWebhook,
  vsWeights,
  waitFor,
} from './harness.js';
import { testClient, virtualServicesPath, watch } from './watch.js';
import type { VirtualService } from './watch.js';

const NS = 'input';
const CONFIG = 'steerer-webhook-input';

function node(args: string[]): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(process.execPath, args, { cwd: REPO, env: processEnv() }, (err, stdout, stderr) =>
      err ? reject(new Error(stderr || err.message)) : resolve(stdout),
    ),
  );
}

function rolloutJson(name: string, spec: unknown, namespace = NS): string {
  return JSON.stringify({
    apiVersion: 'apps.weave.works/v1beta1',
    kind: 'Rollout',
    metadata: { name, namespace },
    spec,
  });
}

describe('hostile and broken input', () => {
  let webhook: SteererProcess | undefined;
  let controller: SteererProcess | undefined;
  let certDir = '';
  const counts = { invalidRejected: 0, validAdmitted: 0, userEdits: 0 };

  beforeAll(async () => {
    await deleteNamespace(NS);
    await installCrd();
    await applyYaml(namespaceManifest(NS));
    ({ webhook, certDir } = await startLocalWebhook('webhook-input', NS, CONFIG));
  });

  afterAll(async () => {
    await kubectl([
      'delete',
      'mutatingwebhookconfiguration,validatingwebhookconfiguration',
      CONFIG,
      '--ignore-not-found',
    ]).catch(() => undefined);
    await controller?.stop();
    await webhook?.stop();
    await setLoad(NS, 'edit', 0).catch(() => undefined);
    if (certDir) rmSync(certDir, { recursive: true, force: true });
    console.log(`hostile input: ${JSON.stringify(counts)}`);
  });

  it(`refuses each of the ${INVALID_ROLLOUT_CASES.length} invalid Rollouts, naming the field`, async () => {
    expect(INVALID_ROLLOUT_CASES.length).toBeGreaterThanOrEqual(25);
    const wrong: string[] = [];
    for (const [i, c] of INVALID_ROLLOUT_CASES.entries()) {
      const r = await kubectlResult(
        ['apply', '--dry-run=server', '-f', '-'],
        rolloutJson(`bad-${i}`, c.spec),
      );
      const said = r.stderr.replace(/\s+/g, ' ');
      if (r.code === 0) wrong.push(`${c.name}: admitted`);
      else if (!said.includes(c.field))
        wrong.push(`${c.name}: message does not name ${c.field}: ${said.slice(0, 300)}`);
      else counts.invalidRejected++;
    }
    expect(wrong).toEqual([]);
  });

  it(`admits each of the ${VALID_ROLLOUT_CASES.length} valid variants`, async () => {
    const wrong: string[] = [];
    for (const [i, c] of VALID_ROLLOUT_CASES.entries()) {
      const r = await kubectlResult(
        ['apply', '--dry-run=server', '-f', '-'],
        rolloutJson(`good-${i}`, c.spec),
      );
      if (r.code !== 0) wrong.push(`${c.name}: ${r.stderr.trim().slice(0, 300)}`);
      else counts.validAdmitted++;
    }
    expect(wrong).toEqual([]);
  });

  it('restores weights changed by hand, and halts (without fighting) when a route is removed', async () => {
    const o: AppOptions = {
      namespace: NS,
      name: 'edit',
      image: 'quay.io/stefanprodan/podinfo:1.0.0',
      stepWeight: 10,
      interval: '30s',
    };
    await applyYaml(appManifests(o));
    await applyYaml(rolloutManifest(o));
    await setLoad(NS, 'edit', 30);
    controller = startController([
      '--control-loop-interval=3s',
      '--analysis-interval=1s',
      `--namespace=${NS}`,
    ]);
    await waitFor(
      'Initialized',
      async () => (await rolloutStatus(NS, 'edit')).phase === 'Initialized',
      60_000,
    );
    await applyYaml(canaryDeployment(o, 'quay.io/stefanprodan/podinfo:2.0.0'));
    await waitFor(
      'weight 30',
      async () => ((await rolloutStatus(NS, 'edit')).canaryWeight ?? 0) >= 30,
      120_000,
      200,
    );
    const weightAt = async (): Promise<number> =>
      (await rolloutStatus(NS, 'edit')).canaryWeight ?? 0;

    // 1. Weights changed by hand. With the webhook, the edit keeps Steerer's weights and
    //    says so; without its mutating half, Steerer puts them back, with a Warning naming
    //    what it found.
    const setWeights = (p: number, c: number): ReturnType<typeof kubectlResult> =>
      kubectlResult([
        'patch',
        'virtualservice',
        '-n',
        NS,
        'edit',
        '--type=json',
        '-p',
        JSON.stringify([
          { op: 'replace', path: '/spec/http/0/route/0/weight', value: p },
          { op: 'replace', path: '/spec/http/0/route/1/weight', value: c },
        ]),
      ]);
    const kept = await setWeights(50, 50);
    counts.userEdits++;
    expect(kept.code).toBe(0);
    expect(kept.stderr).toMatch(
      /Warning: kept VirtualService input\/edit at \d+\/\d+, not 50\/50: Rollout input\/edit is releasing through it/,
    );
    const [keptPrimary] = await vsWeights(NS, 'edit');
    expect(keptPrimary).not.toBe(50);
    await kubectl(['delete', 'mutatingwebhookconfiguration', CONFIG]);
    expect((await setWeights(50, 50)).code).toBe(0);
    counts.userEdits++;
    const restored = await waitFor(
      'the weights restored',
      async () => {
        const w = await weightAt();
        const [p, c] = await vsWeights(NS, 'edit');
        const event = (await rolloutEvents(NS, 'edit')).find(
          (e) =>
            e.message.includes('weights to') &&
            e.message.includes('found 50/50, changed outside Steerer'),
        );
        return event && p === 100 - w && c === w ? event.message : undefined;
      },
      30_000,
      200,
    );
    expect(restored).toMatch(
      /^Restoring VirtualService edit\.input weights to \d+\/\d+: found 50\/50, changed outside Steerer$/,
    );

    // 2. Removing the canary's destination mid-release: the webhook refuses it.
    const removeCanary = JSON.stringify([
      { op: 'remove', path: '/spec/http/0/route/1' },
      { op: 'replace', path: '/spec/http/0/route/0/weight', value: 100 },
    ]);
    const denied = await kubectlResult([
      'patch',
      'virtualservice',
      '-n',
      NS,
      'edit',
      '--type=json',
      '-p',
      removeCanary,
    ]);
    counts.userEdits++;
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain('Rollout');
    expect(denied.stderr).toContain('edit');

    // 3. Without the webhook the edit lands: the rollout halts, naming the missing route,
    //    and Steerer leaves the VirtualService alone.
    await kubectl([
      'delete',
      'mutatingwebhookconfiguration,validatingwebhookconfiguration',
      CONFIG,
      '--ignore-not-found',
    ]);
    const client = testClient();
    let writesAfterRemoval = 0;
    let removedAt = Number.POSITIVE_INFINITY;
    const routes = await watch<VirtualService>(client, virtualServicesPath(NS), (vs, old) => {
      if (vs.metadata.name === 'edit' && old && Date.now() > removedAt) writesAfterRemoval++;
    });
    await kubectl(['patch', 'virtualservice', '-n', NS, 'edit', '--type=json', '-p', removeCanary]);
    removedAt = Date.now() + 500;
    counts.userEdits++;
    const halt = await waitFor(
      'a halt naming the missing route',
      async () =>
        (await rolloutEvents(NS, 'edit')).find(
          (e) =>
            e.message ===
            'Halt rollout edit.input VirtualService edit.input has no route to edit-canary',
        )?.message,
      30_000,
      200,
    );
    expect(halt).toBeDefined();
    const s = await rolloutStatus(NS, 'edit');
    // A target broken mid-release halts the release (docs/reference.md, "Traffic and
    // targets"); it carries on once fixed, or the progress deadline rolls it back.
    expect(s.phase).toBe('Halted');
    // Several step intervals later: still no write to the VirtualService by Steerer.
    await waitFor('three step intervals', () => Date.now() > removedAt + 9000, 15_000, 500);
    expect(writesAfterRemoval).toBe(0);
    routes.stop();
    client.close();

    // 4. The route comes back: the release carries on to the end.
    await kubectl([
      'patch',
      'virtualservice',
      '-n',
      NS,
      'edit',
      '--type=json',
      '-p',
      JSON.stringify([
        {
          op: 'add',
          path: '/spec/http/0/route/-',
          value: { destination: { host: 'edit-canary', port: { number: 9898 } }, weight: 0 },
        },
      ]),
    ]);
    counts.userEdits++;
    await waitFor(
      'the rollout to finish',
      async () => (await rolloutStatus(NS, 'edit')).phase === 'Succeeded',
      180_000,
      500,
    );
    expect(await vsWeights(NS, 'edit')).toEqual([100, 0]);
  });
});

// The webhook down: its configurations registered (limited to one namespace) at a URL
// where nothing listens, so every call fails and failurePolicy decides.
describe('the CRD alone, with the Rollout webhook down', () => {
  const CRD_NS = 'input-crd';
  const DOWN = 'steerer-webhook-down';
  const counts = { refusedByCrd: 0, admitted: 0, webhookOnlyAdmitted: 0 };

  /** The new optional fields, which the shared table does not cover yet. */
  const NEW_FIELD_CASES = [
    { name: 'rollback a string', spec: specWith({ rollback: 'yes' }), field: 'spec.rollback' },
    {
      name: 'rollback.onFailure "yes"',
      spec: specWith({ rollback: { onFailure: 'yes' } }),
      field: 'spec.rollback.onFailure',
    },
    ...['soon', '1 m', '500ms', '0s', '25h', `${'0'.repeat(31)}1s`].map((d) => ({
      name: `rollback.failureDuration "${d}"`,
      spec: specWith({ rollback: { failureDuration: d } }),
      field: 'spec.rollback.failureDuration',
    })),
    ...['10', '9s', '9999ms', '0s', '24h1s', '99999999999999999999h'].map((d) => ({
      name: `progressDeadline "${d}"`,
      spec: specWith({ progressDeadline: d }),
      field: 'spec.progressDeadline',
    })),
  ];
  const NEW_FIELD_VALID = [
    { name: 'rollback {}', spec: specWith({ rollback: {} }) },
    { name: 'rollback.onFailure false', spec: specWith({ rollback: { onFailure: false } }) },
    {
      name: 'rollback 1s and progressDeadline 10s (the minimums)',
      spec: specWith({
        rollback: { onFailure: true, failureDuration: '1s' },
        progressDeadline: '10s',
      }),
    },
    {
      name: 'rollback 24h and progressDeadline 24h (the maximums)',
      spec: specWith({ rollback: { failureDuration: '24h' }, progressDeadline: '24h' }),
    },
    { name: 'progressDeadline 1m30s', spec: specWith({ progressDeadline: '1m30s' }) },
  ];

  async function dryRun(name: string, spec: unknown): Promise<{ code: number; said: string }> {
    const r = await kubectlResult(
      ['apply', '--dry-run=server', '-f', '-'],
      rolloutJson(name, spec, CRD_NS),
    );
    return { code: r.code, said: r.stderr.replace(/\s+/g, ' ') };
  }

  beforeAll(async () => {
    await deleteNamespace(CRD_NS);
    await installCrd();
    await applyYaml(namespaceManifest(CRD_NS));
    const port = await freePort(); // free: nothing listens there
    const manifests = await node([
      'webhook/dist/manifests-cli.js',
      `--name=${DOWN}`,
      `--url=https://127.0.0.1:${port}`,
      `--namespace=${CRD_NS}`,
    ]);
    await kubectl(['apply', '-f', '-'], manifests);
  });

  afterAll(async () => {
    await kubectl([
      'delete',
      'mutatingwebhookconfiguration,validatingwebhookconfiguration',
      DOWN,
      '--ignore-not-found',
    ]).catch(() => undefined);
    await deleteNamespace(CRD_NS).catch(() => undefined);
    console.log(`webhook down: ${JSON.stringify(counts)}`);
  });

  it('the Rollout webhook is registered for the namespace, Ignore, and unreachable', async () => {
    const config = await kubectlJson<{
      webhooks: { name: string; failurePolicy: string; clientConfig: { url?: string } }[];
    }>(['get', 'validatingwebhookconfiguration', DOWN]);
    const rollouts = config.webhooks.find((w) => w.name === 'rollouts.webhook.steerer.io');
    expect(rollouts?.failurePolicy).toBe('Ignore');
    expect(rollouts?.clientConfig.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/validate\/rollouts$/);
  });

  it(`admits each of the ${VALID_ROLLOUT_CASES.length + NEW_FIELD_VALID.length} valid Rollouts: a webhook that is down blocks nobody`, async () => {
    const wrong: string[] = [];
    for (const [i, c] of [...VALID_ROLLOUT_CASES, ...NEW_FIELD_VALID].entries()) {
      const r = await dryRun(`good-${i}`, c.spec);
      if (r.code !== 0) wrong.push(`${c.name}: ${r.said.slice(0, 300)}`);
      else counts.admitted++;
    }
    expect(wrong).toEqual([]);
  });

  it(`refuses each of the ${INVALID_ROLLOUT_CASES.length + NEW_FIELD_CASES.length} invalid Rollouts by itself, naming the field`, async () => {
    const wrong: string[] = [];
    for (const [i, c] of [...INVALID_ROLLOUT_CASES, ...NEW_FIELD_CASES].entries()) {
      const r = await dryRun(`bad-${i}`, c.spec);
      if (r.code === 0) wrong.push(`${c.name}: admitted`);
      else if (!r.said.includes(c.field))
        wrong.push(`${c.name}: message does not name ${c.field}: ${r.said.slice(0, 300)}`);
      // (An admission webhook's refusal says so; `webhook` alone is also a receiver type.)
      else if (r.said.includes('admission webhook'))
        wrong.push(`${c.name}: refused by a webhook, not the CRD: ${r.said.slice(0, 300)}`);
      else counts.refusedByCrd++;
    }
    expect(wrong).toEqual([]);
  });

  it('admits what only the webhook can refuse: checks that read other objects', async () => {
    // A VirtualService that routes to neither host, and a Rollout naming it (the webhook
    // would refuse: it cannot shift traffic with that VirtualService).
    await applyYaml(`apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: podinfo
  namespace: ${CRD_NS}
spec:
  hosts: [podinfo]
  http:
    - route:
        - destination: {host: elsewhere}
          weight: 100
`);
    const first = await kubectlResult(
      ['apply', '-f', '-'],
      rolloutJson('podinfo', specWith({}), CRD_NS),
    );
    expect(first.code).toBe(0);
    const cases = [
      // The webhook refuses a second Rollout of the same Deployments and Services.
      { name: 'a second Rollout of the same Deployments', spec: specWith({}) },
      // podinfo and podinfo.<namespace> are one Service; CEL cannot read the namespace.
      {
        name: 'one Service written short and with its namespace',
        spec: specWith({ 'primary.host': 'podinfo', 'canary.host': `podinfo.${CRD_NS}` }),
      },
    ];
    const wrong: string[] = [];
    // An unknown manual request: CEL cannot read annotations.
    const request = await kubectlResult(
      ['apply', '--dry-run=server', '-f', '-'],
      JSON.stringify({
        ...(JSON.parse(rolloutJson('podinfo', specWith({}), CRD_NS)) as object),
        metadata: {
          name: 'podinfo',
          namespace: CRD_NS,
          annotations: { 'steerer.io/request': 'explode' },
        },
      }),
    );
    if (request.code !== 0) wrong.push(`an unknown request: refused: ${request.stderr.trim()}`);
    else counts.webhookOnlyAdmitted++;
    for (const [i, c] of cases.entries()) {
      const r = await dryRun(`webhook-only-${i}`, c.spec);
      if (r.code !== 0)
        wrong.push(`${c.name}: refused without the webhook: ${r.said.slice(0, 300)}`);
      else counts.webhookOnlyAdmitted++;
    }
    // If the CRD learns to refuse one of these, move it out of this list and out of the
    // chart README's "Only the webhook refuses these".
    expect(wrong).toEqual([]);
  });
});
