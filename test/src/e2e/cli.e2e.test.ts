// kubectl steerer (cli/dist/main.js) against the real cluster, run as a child process the
// way kubectl runs a plugin: get, status, the errors a user meets (a missing Rollout, no
// RBAC, no cluster), watch in a pipe and in a terminal (tmux), and the manual requests
// carried out by a real controller.
//
// The controller watches this suite's namespace only. A second namespace holds a Rollout
// no controller handles, for the request timeout. Assumes `npx tsc -b` ran (cli/dist,
// controller/dist).

import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { SteererProcess } from './harness.js';
import {
  REPO,
  applyYaml,
  deleteNamespace,
  deploymentOf,
  installCrd,
  kubectl,
  kubectlJson,
  processEnv,
  rolloutStatus,
  seedYaml,
  setFault,
  setLoad,
  startController,
  vsWeights,
  waitAvailable,
  waitFor,
  waitSeedHpaSettled,
} from './harness.js';

const NS = 'cli-e2e';
/** A namespace no controller watches: requests there are never handled. */
const IDLE_NS = 'cli-e2e-idle';
const MAIN = join(REPO, 'cli/dist/main.js');
const INTERVAL_MS = 2000;
const ROLLOUTS = 'rollouts.apps.weave.works';
const TMUX_SOCKET = `steerer-cli-e2e-${process.pid}`;

let controller: SteererProcess | undefined;
let dir = '';
const children: ChildProcess[] = [];

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the plugin to completion. */
function cli(args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [MAIN, ...args],
      { env: processEnv(), timeout: 120_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

interface Follower {
  out(): string;
  err(): string;
  exited: Promise<number | null>;
  child: ChildProcess;
}

/** Starts `watch` with its output piped (not a terminal). */
function followPiped(): Follower {
  const child = spawn(process.execPath, [MAIN, 'watch', 'podinfo', '-n', NS], {
    env: processEnv(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  return { out: () => out, err: () => err, exited, child };
}

function tmux(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('tmux', ['-L', TMUX_SOCKET, ...args], { env: processEnv() }, (err, stdout, stderr) => {
      if ((err as { code?: unknown } | null)?.code === 'ENOENT') {
        reject(
          new Error('tmux is not installed (apt-get install tmux): the terminal test needs it'),
        );
      } else if (err) reject(new Error(`tmux ${args.join(' ')}: ${stderr || err.message}`));
      else resolve(stdout);
    });
  });
}

function canaryWithImage(tag: string): string {
  return seedYaml('canary.yaml', NS).replace(
    'quay.io/stefanprodan/podinfo:1.2.0',
    `quay.io/stefanprodan/podinfo:${tag}`,
  );
}

async function waitPhase(phase: string, namespace = NS, timeoutMs = 180_000): Promise<void> {
  await waitFor(
    `rollout ${namespace}/podinfo phase ${phase}`,
    async () => (await rolloutStatus(namespace, 'podinfo')).phase === phase,
    timeoutMs,
    250,
  );
}

/** Ships a canary image and waits until the release has reached `weight`. */
async function shipTo(tag: string, weight: number): Promise<void> {
  const before = (await rolloutStatus(NS, 'podinfo')).canaryRevision;
  await applyYaml(canaryWithImage(tag));
  await waitFor(
    `the release of ${tag} to reach weight ${weight}`,
    async () => {
      const s = await rolloutStatus(NS, 'podinfo');
      return (
        s.canaryRevision !== before && s.phase === 'Progressing' && (s.canaryWeight ?? 0) >= weight
      );
    },
    120_000,
    200,
  );
}

/** Fails as soon as `check` is false; passes once it has held for `ms`. */
async function holdsFor(
  description: string,
  check: () => Promise<boolean>,
  ms: number,
): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (!(await check())) throw new Error(`${description} stopped holding`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function annotations(namespace: string): Promise<Record<string, string>> {
  const r = await kubectlJson<{ metadata: { annotations?: Record<string, string> } }>([
    'get',
    ROLLOUTS,
    '-n',
    namespace,
    'podinfo',
  ]);
  return r.metadata.annotations ?? {};
}

/** A kubeconfig for this cluster with another user: a token, or a server that is not there. */
async function writeKubeconfig(
  name: string,
  user: { token: string },
  server?: string,
): Promise<string> {
  const view = await kubectlJson<{
    clusters: {
      cluster: {
        server: string;
        'certificate-authority'?: string;
        'certificate-authority-data'?: string;
      };
    }[];
  }>(['config', 'view', '--minify', '--raw']);
  const cluster = view.clusters[0]?.cluster;
  if (!cluster) throw new Error('the kubeconfig has no cluster');
  const ca = cluster['certificate-authority-data']
    ? `certificate-authority-data: ${cluster['certificate-authority-data']}`
    : `certificate-authority: ${cluster['certificate-authority'] ?? ''}`;
  const file = join(dir, name);
  writeFileSync(
    file,
    `apiVersion: v1
kind: Config
clusters:
- name: c
  cluster:
    server: ${server ?? cluster.server}
    ${ca}
users:
- name: u
  user:
    token: ${user.token}
contexts:
- name: x
  context: {cluster: c, user: u, namespace: ${NS}}
current-context: x
`,
  );
  return file;
}

async function serviceAccountToken(name: string): Promise<string> {
  return (await kubectl(['create', 'token', name, '-n', NS, '--duration=1h'])).trim();
}

describe('kubectl steerer on a real cluster', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cli-e2e-'));
    await deleteNamespace(NS);
    await deleteNamespace(IDLE_NS);
    await installCrd();
    for (const f of ['namespace', 'primary', 'canary', 'hpa', 'virtualservice']) {
      await applyYaml(seedYaml(`${f}.yaml`, NS));
    }
    await waitAvailable(NS, ['podinfo', 'podinfo-canary']);
    await waitSeedHpaSettled(NS);
    await setLoad(NS, 'podinfo', 50);
    controller = startController([
      `--namespace=${NS}`,
      `--control-loop-interval=${INTERVAL_MS / 1000}s`,
      '--analysis-interval=1s',
    ]);
    await applyYaml(seedYaml('rollout.yaml', NS));
    await waitPhase('Succeeded');
    await applyYaml(seedYaml('namespace.yaml', IDLE_NS));
    await applyYaml(seedYaml('rollout.yaml', IDLE_NS));
  });

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await tmux(['kill-server']).catch(() => undefined);
    await controller?.stop();
    await setLoad(NS, 'podinfo', 0).catch(() => undefined);
    await setFault(NS, 'podinfo-canary', null).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  describe('reading', () => {
    it('get lists the Rollout with its phase', async () => {
      const r = await cli(['get', '-n', NS]);
      expect(r).toMatchObject({ code: 0, stderr: '' });
      const [header, row, ...rest] = r.stdout.trimEnd().split('\n');
      expect(header).toMatch(/^NAME\s+PHASE\s+WEIGHT\s+CHECK\s+AGE\s+MESSAGE$/);
      expect(row).toMatch(
        /^podinfo\s+Succeeded\s+0%\s+(\d+(\.\d+)?% [≥<] 99%|no data|-)\s+\S+\s+\S/,
      );
      expect(rest).toEqual([]);
      const all = await cli(['get', '-A']);
      expect(all.code).toBe(0);
      expect(all.stdout).toMatch(/^NAMESPACE\s+NAME\s+PHASE/);
      expect(all.stdout).toMatch(new RegExp(`^${NS}\\s+podinfo\\s+Succeeded\\s+0%`, 'm'));
      expect(all.stdout).toMatch(new RegExp(`^${IDLE_NS}\\s+podinfo\\s`, 'm'));
    });

    it('status shows phase, weight, analysis, conditions and events', async () => {
      const r = await cli(['status', 'podinfo', '-n', NS]);
      expect(r).toMatchObject({ code: 0, stderr: '' });
      expect(r.stdout).toMatch(/^Name:\s+podinfo$/m);
      expect(r.stdout).toMatch(/^Phase:\s+Succeeded/m);
      expect(r.stdout).toMatch(/^Weight:\s+0% to the canary, 100% to the primary$/m);
      expect(r.stdout).toMatch(/^Revision:\s+[0-9a-f]+ \(last promoted: [0-9a-f]+\)$/m);
      expect(r.stdout).toMatch(/^Last analysis:$/m);
      expect(r.stdout).toMatch(/^ {2}Threshold:\s+99%$/m);
      expect(r.stdout).toMatch(/^ {2}TYPE\s+STATUS\s+REASON\s+AGE\s+MESSAGE$/m);
      expect(r.stdout).toMatch(/^ {2}Ready\s+True\s+\S+/m);
      expect(r.stdout).toMatch(/^Events( \(10 most recent of \d+\))?:$/m);
      expect(r.stdout).toContain(`Promotion complete! Scaling down podinfo-canary.${NS}`);
      expect(r.stdout).toMatch(/^Waiting for:\s+\S/m);
    });
  });

  describe('errors', () => {
    it('a missing Rollout: exit 1 with the sentence', async () => {
      for (const args of [
        ['status', 'nope'],
        ['watch', 'nope'],
        ['pause', 'nope'],
        ['get', 'nope'],
      ]) {
        const r = await cli([...args, '-n', NS]);
        expect(r).toEqual({
          code: 1,
          stdout: '',
          stderr: `error: rollout nope not found in namespace ${NS}\n`,
        });
      }
    });

    it('a user without RBAC: the verb, the resource, the namespace and the fix', async () => {
      await applyYaml(`apiVersion: v1
kind: ServiceAccount
metadata: {name: nobody, namespace: ${NS}}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: viewer, namespace: ${NS}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: rollout-viewer, namespace: ${NS}}
rules:
- apiGroups: [apps.weave.works]
  resources: [rollouts]
  verbs: [get, list, watch]
- apiGroups: ['']
  resources: [events]
  verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: rollout-viewer, namespace: ${NS}}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: rollout-viewer}
subjects:
- {kind: ServiceAccount, name: viewer, namespace: ${NS}}
`);
      const nobody = await writeKubeconfig('nobody', {
        token: await serviceAccountToken('nobody'),
      });
      const r = await cli(['get', '--kubeconfig', nobody]);
      expect(r).toEqual({
        code: 1,
        stdout: '',
        stderr:
          `error: user "system:serviceaccount:${NS}:nobody" may not list ${ROLLOUTS} in namespace ${NS}: ` +
          `your RBAC must allow "list" on ${ROLLOUTS} in namespace ${NS}\n`,
      });
      const all = await cli(['get', '-A', '--kubeconfig', nobody]);
      expect(all.stderr).toBe(
        `error: user "system:serviceaccount:${NS}:nobody" may not list ${ROLLOUTS} cluster-wide: ` +
          `your RBAC must allow "list" on ${ROLLOUTS} cluster-wide (a ClusterRole with a ClusterRoleBinding)\n`,
      );
      // Allowed to look, not to steer.
      const viewer = await writeKubeconfig('viewer', {
        token: await serviceAccountToken('viewer'),
      });
      expect((await cli(['status', 'podinfo', '--kubeconfig', viewer])).code).toBe(0);
      const pause = await cli(['pause', 'podinfo', '--kubeconfig', viewer]);
      expect(pause).toEqual({
        code: 1,
        stdout: '',
        stderr:
          `error: user "system:serviceaccount:${NS}:viewer" may not patch ${ROLLOUTS} in namespace ${NS}: ` +
          `your RBAC must allow "patch" on ${ROLLOUTS} in namespace ${NS}\n`,
      });
      expect(await annotations(NS)).not.toHaveProperty(['steerer.io/request']);
    });

    it('an unreachable cluster: the server URL and the kubeconfig', async () => {
      const file = await writeKubeconfig('unreachable', { token: 'x' }, 'https://127.0.0.1:1');
      for (const args of [['get'], ['status', 'podinfo'], ['abort', 'podinfo']]) {
        const r = await cli([...args, '--kubeconfig', file]);
        expect(r).toEqual({
          code: 1,
          stdout: '',
          stderr:
            'error: cannot reach the Kubernetes API server at https://127.0.0.1:1 (connect ECONNREFUSED 127.0.0.1:1): ' +
            `is the cluster running, and is kubeconfig ${file} the right one?\n`,
        });
      }
    });

    it('a kubeconfig that does not exist, and a bad command line', async () => {
      const missing = join(dir, 'missing');
      expect(await cli(['get', '--kubeconfig', missing])).toEqual({
        code: 1,
        stdout: '',
        stderr: `error: kubeconfig ${missing} does not exist\n`,
      });
      const bad = await cli(['get', '--frobnicate']);
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(
        /^error: unknown flag --frobnicate for "get"\n\nUsage: kubectl steerer get/,
      );
    });

    it('a request no controller handles: exit 1 after --wait, the request left in place', async () => {
      const r = await cli(['pause', 'podinfo', '-n', IDLE_NS, '--wait=3s']);
      expect(r.code).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(
        /^error: the controller did not handle the request within 3s — is it running\?/,
      );
      expect((await annotations(IDLE_NS))['steerer.io/request']).toBe('pause');
      const noWait = await cli(['resume', 'podinfo', '-n', IDLE_NS, '--wait=0']);
      expect(noWait).toEqual({
        code: 0,
        stdout:
          'podinfo: resume requested (steerer.io/request=resume); not waiting for the controller\n',
        stderr: 'note: replacing the request "pause", which the controller has not handled yet\n',
      });
      expect((await annotations(IDLE_NS))['steerer.io/request']).toBe('resume');
    });
  });

  describe('watch', () => {
    it('writes plain lines when piped, one per change, and exits 0 on Ctrl-C', async () => {
      const watch = followPiped();
      await waitFor('the first line', () => /Succeeded/.test(watch.out()), 30_000);
      await shipTo('1.3.0', 10);
      await waitPhase('Succeeded');
      await waitFor(
        'lines for the whole release',
        () => {
          const out = watch.out();
          const from = out.search(/Progressing\s+weight 10%/);
          return from >= 0 && /\sSucceeded\s/.test(out.slice(from));
        },
        30_000,
      );
      watch.child.kill('SIGINT');
      expect(await watch.exited).toBe(0);
      expect(watch.err()).toBe('');
      const out = watch.out();
      const lines = out.trimEnd().split('\n');
      for (const l of lines) {
        expect(l).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ {2}\S+\s+weight \d+%/);
      }
      expect(out).not.toContain('\x1b');
      // One line per change: never the same state twice in a row.
      const states = lines.map((l) => l.slice(22));
      expect(states.filter((x, i) => i > 0 && x === states[i - 1])).toEqual([]);
    });

    it('redraws in place in a terminal (tmux) and follows a release', async () => {
      const command =
        `KUBECONFIG='${processEnv().KUBECONFIG ?? ''}' '${process.execPath}' '${MAIN}' watch podinfo -n ${NS}; ` +
        'echo "watch exited with $?"; sleep 600';
      await tmux(['new-session', '-d', '-s', 'watch', '-x', '150', '-y', '50', command]);
      const pane = (): Promise<string> => tmux(['capture-pane', '-p', '-t', 'watch']);
      await waitFor(
        'the watch to show the Rollout',
        async () => /^Phase:\s+Succeeded/m.test(await pane()),
        30_000,
      );
      await shipTo('1.4.0', 10);
      const progressing = await waitFor(
        'the pane to show the release progressing',
        async () => {
          const text = await pane();
          return /^Phase:\s+Progressing/m.test(text) && text;
        },
        60_000,
      );
      expect(progressing).toMatch(/^Weight:\s+\d+% to the canary/m);
      expect(progressing).toMatch(
        /kubectl steerer watch podinfo -n cli-e2e\s+\S+\s+Ctrl-C to quit/,
      );
      await waitPhase('Succeeded');
      const done = await waitFor(
        'the pane to show the promotion',
        async () => {
          const text = await pane();
          return (
            /^Phase:\s+Succeeded/m.test(text) &&
            text.includes(`Promotion complete! Scaling down podinfo-canary.${NS}`) &&
            text
          );
        },
        60_000,
      );
      // Redrawn in place: one view on the screen, not one appended per change.
      expect(done.match(/^Name:/gm)).toHaveLength(1);
      expect(done.match(/Ctrl-C to quit/g)).toHaveLength(1);
      await tmux(['send-keys', '-t', 'watch', 'C-c']);
      await waitFor(
        'the watch to exit 0',
        async () => (await pane()).includes('watch exited with 0'),
        30_000,
      );
    });
  });

  // These need the controller side of the manual requests (steerer.io/request handled,
  // status.lastRequest recorded, the annotation removed).
  describe('manual requests through a real controller', () => {
    it('pause holds the weight, resume carries on', async () => {
      await shipTo('1.5.0', 10);
      const pause = await cli(['pause', 'podinfo', '-n', NS]);
      expect(pause.stderr).toBe('');
      expect(pause.stdout).toMatch(/^podinfo: pause Done/);
      expect(pause.code).toBe(0);
      const paused = await rolloutStatus(NS, 'podinfo');
      expect(paused.phase).toBe('Paused');
      await holdsFor(
        'the weight while paused',
        async () => {
          const s = await rolloutStatus(NS, 'podinfo');
          return s.phase === 'Paused' && s.canaryWeight === paused.canaryWeight;
        },
        3 * INTERVAL_MS,
      );
      expect(await annotations(NS)).not.toHaveProperty(['steerer.io/request']);
      const status = await cli(['status', 'podinfo', '-n', NS]);
      expect(status.stdout).toMatch(/^Phase:\s+Paused/m);
      expect(status.stdout).toMatch(/^Last request:\s+pause: Done/m);
      const resume = await cli(['resume', 'podinfo', '-n', NS]);
      expect(resume).toMatchObject({ code: 0, stderr: '' });
      expect(resume.stdout).toMatch(/^podinfo: resume Done/);
      await waitFor(
        'the release to step on',
        async () =>
          ((await rolloutStatus(NS, 'podinfo')).canaryWeight ?? 0) > (paused.canaryWeight ?? 0),
        60_000,
      );
    });

    it('abort rolls back to the primary, retry releases the revision again, promote finishes it', async () => {
      const abort = await cli(['abort', 'podinfo', '-n', NS]);
      expect(abort).toMatchObject({ code: 0, stderr: '' });
      expect(abort.stdout).toMatch(/^podinfo: abort Done/);
      await waitPhase('Failed', NS, 120_000);
      const failed = await rolloutStatus(NS, 'podinfo');
      expect((failed as { failureReason?: string }).failureReason).toBe('Aborted');
      expect(await vsWeights(NS, 'podinfo')).toEqual([100, 0]);
      await waitFor(
        'the canary to scale to zero',
        async () => (await deploymentOf(NS, 'podinfo-canary')).replicas === 0,
      );
      expect((await deploymentOf(NS, 'podinfo')).image).toBe('quay.io/stefanprodan/podinfo:1.4.0');

      const retry = await cli(['retry', 'podinfo', '-n', NS]);
      expect(retry).toMatchObject({ code: 0, stderr: '' });
      expect(retry.stdout).toMatch(/^podinfo: retry Done/);
      const retriedAt = Date.now();
      // Released again, and measured passing: promote (without --force) needs passing checks.
      await waitFor(
        'the revision to be released again and pass a check',
        async () => {
          const s = await rolloutStatus(NS, 'podinfo');
          const checked = Date.parse((s.analysis as { time?: string } | undefined)?.time ?? '');
          return (
            s.phase === 'Progressing' &&
            (s.canaryWeight ?? 0) >= 10 &&
            s.canaryRevision === failed.canaryRevision &&
            s.analysis?.result === 'Pass' &&
            checked >= retriedAt - 1000
          );
        },
        120_000,
      );

      // A promote is judged as a step to 100%: until enough requests are in, it is refused
      // as waiting (never as failing); ask again until it is done.
      const promote = await waitFor(
        'a promote request to be carried out',
        async () => {
          const r = await cli(['promote', 'podinfo', '-n', NS]);
          if (r.code !== 0) {
            expect(r.stderr).toMatch(
              /^podinfo: promote Refused — the checks do not pass \(waiting for/,
            );
            return undefined;
          }
          return r;
        },
        90_000,
        1000,
      );
      expect(promote).toMatchObject({ code: 0, stderr: '' });
      expect(promote.stdout).toMatch(/^podinfo: promote Done/);
      await waitPhase('Succeeded');
      expect((await deploymentOf(NS, 'podinfo')).image).toBe('quay.io/stefanprodan/podinfo:1.5.0');
    });

    it('promote --force promotes a failing canary; a request with nothing to act on is refused', async () => {
      await shipTo('1.6.0', 10);
      await setFault(NS, 'podinfo-canary', { errorRatio: 0.5 });
      try {
        await waitPhase('Halted', NS, 60_000);
        const promote = await cli(['promote', 'podinfo', '-n', NS, '--force']);
        expect(promote).toMatchObject({ code: 0, stderr: '' });
        expect(promote.stdout).toMatch(/^podinfo: promote-force Done/);
        await waitPhase('Succeeded');
        expect((await deploymentOf(NS, 'podinfo')).image).toBe(
          'quay.io/stefanprodan/podinfo:1.6.0',
        );
      } finally {
        await setFault(NS, 'podinfo-canary', null);
      }
      const refused = await cli(['promote', 'podinfo', '-n', NS]);
      expect(refused.code).toBe(1);
      expect(refused.stdout).toBe('');
      expect(refused.stderr).toMatch(/^podinfo: promote Refused — \S/);
    });
  });

  describe('the end of a Rollout', () => {
    it('watch ends with a message, exit 0, when the Rollout is deleted', async () => {
      const watch = followPiped();
      await waitFor('the first line', () => /Succeeded/.test(watch.out()), 30_000);
      await kubectl(['delete', ROLLOUTS, 'podinfo', '-n', NS, '--wait=false']);
      // Deletion first routes everything back to the primary (a finalizer), then the object goes.
      await waitFor('the watch to end', () => watch.child.exitCode !== null, 120_000);
      expect(await watch.exited).toBe(0);
      expect(watch.out()).toMatch(/Z {2}rollout podinfo in namespace cli-e2e was deleted\n$/);
      expect(watch.err()).toBe('');
    });
  });
});
