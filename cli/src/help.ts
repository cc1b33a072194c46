// Help texts: the general usage and one page per command, each with examples.

import { REQUEST_HELP } from '@steerer/common';
import type { Command } from './args.js';

const CONNECTION = `Connection flags (as kubectl's):
  --kubeconfig=FILE    kubeconfig to use (default: $KUBECONFIG, then ~/.kube/config)
  --context=NAME       kubeconfig context to use (default: the current context)
  -n, --namespace=NS   namespace of the Rollout (default: the context's, else "default")`;

const WAIT = `  --wait=DURATION      how long to wait for the controller to carry the request out
                       (default 30s; --wait=0 writes the request and returns at once)`;

const REQUESTS_TEXT = `A request is written as the annotation steerer.io/request on the Rollout; the
controller carries it out, records the outcome in status.lastRequest and removes the
annotation. The command waits for that and prints the outcome: exit 0 when it was
done, 1 when the controller refused it or did not answer in time.`;

function requestPage(command: string, summary: string, example: string, extra = ''): string {
  return `kubectl steerer ${command}: ${summary}.

Usage: kubectl steerer ${command} NAME [flags]

${REQUESTS_TEXT}

Flags:
${extra}${WAIT}

${CONNECTION}

Example:
${example}
`;
}

const PAGES: Record<Command, string> = {
  get: `kubectl steerer get: list Rollouts with their phase, weight and last check.

Usage: kubectl steerer get [NAME] [-A] [flags]

Flags:
  -A, --all-namespaces   list the Rollouts of every namespace

${CONNECTION}

Example:
  $ kubectl steerer get -n test
  NAME      PHASE         WEIGHT   CHECK          AGE   MESSAGE
  podinfo   Progressing   30%      99.5% ≥ 99%    12s   Advance rollout podinfo.test weight 30
`,
  status: `kubectl steerer status: everything about one Rollout.

Shows its phase, weight, revision, the last analysis (result, value, threshold, window,
request rate), its conditions, the last manual request, its 10 most recent Events, and
what it is waiting for.

Usage: kubectl steerer status NAME [flags]

${CONNECTION}

Example:
  kubectl steerer status podinfo -n test
`,
  watch: `kubectl steerer watch: follow one Rollout live.

In a terminal, the status view is redrawn in place on every change of the Rollout or
its Events. When the output is not a terminal (a pipe, a file), one line is written per
change: time, phase, weight and message. Ctrl-C quits; deleting the Rollout ends it.

Usage: kubectl steerer watch NAME [flags]

${CONNECTION}

Examples:
  kubectl steerer watch podinfo -n test
  kubectl steerer watch podinfo -n test | tee release.log
`,
  promote: requestPage(
    'promote',
    `${REQUEST_HELP.promote} (--force: ${REQUEST_HELP['promote-force']})`,
    `  $ kubectl steerer promote podinfo -n test
  podinfo: promote Done — …`,
    `  --force              promote even if the checks fail (request promote-force)\n`,
  ),
  abort: requestPage('abort', REQUEST_HELP.abort, `  kubectl steerer abort podinfo -n test`),
  retry: requestPage('retry', REQUEST_HELP.retry, `  kubectl steerer retry podinfo -n test`),
  pause: requestPage(
    'pause',
    REQUEST_HELP.pause,
    `  kubectl steerer pause podinfo -n test --wait=1m`,
  ),
  resume: requestPage('resume', REQUEST_HELP.resume, `  kubectl steerer resume podinfo -n test`),
  dashboard: `kubectl steerer dashboard: the live web dashboard, on this machine.

Serves a page on 127.0.0.1 that shows every Rollout you may see (phase, weight, last
check, updated live), and for each one its timeline (weight, and every check's value
against its bound and the primary's, from Prometheus), the current verdict explained,
conditions and events, with buttons to promote, abort, retry, pause and resume. It acts
with your kubeconfig: what RBAC refuses you, it refuses (a 403 is shown as such).
Prometheus is asked by this process, never by the browser. Ctrl-C stops it.

Usage: kubectl steerer dashboard [flags]

Flags:
  --port=N               port on 127.0.0.1 (default 3100; 0: any free port)
  --metrics-server=URL   Prometheus for the timeline (default
                         http://prometheus.istio-system:9090, as the chart's metricsServer;
                         from a laptop: kubectl -n istio-system port-forward svc/prometheus
                         9090, then --metrics-server=http://127.0.0.1:9090)

${CONNECTION.replace('namespace of the Rollout (default: the context\'s, else "default")', 'only this namespace (default: every namespace you may list)')}

Examples:
  kubectl steerer dashboard
  kubectl steerer dashboard -n test --metrics-server=http://127.0.0.1:9090
`,
  version: `kubectl steerer version: print the plugin's version.

Usage: kubectl steerer version
`,
  help: `kubectl steerer help: explain a command.

Usage: kubectl steerer help [COMMAND]   (or: kubectl steerer COMMAND --help)
`,
};

export const USAGE = `kubectl steerer: see and steer Steerer's canary releases.

Usage: kubectl steerer COMMAND [NAME] [flags]

Commands:
  get [NAME]      list Rollouts: phase, weight, last check, message (-A: all namespaces)
  status NAME     phase, weight, last analysis, conditions, last request, recent Events
  watch NAME      follow a Rollout live (redraws in a terminal, lines in a pipe)
  promote NAME    ${REQUEST_HELP.promote} (--force: even if the checks fail)
  abort NAME      ${REQUEST_HELP.abort}
  retry NAME      ${REQUEST_HELP.retry}
  pause NAME      ${REQUEST_HELP.pause}
  resume NAME     ${REQUEST_HELP.resume}
  dashboard       the live web dashboard on 127.0.0.1 (--port, --metrics-server)
  version         print the plugin's version
  help [COMMAND]  explain a command (or: COMMAND --help)

${CONNECTION}

Examples:
  kubectl steerer get -A
  kubectl steerer status podinfo -n test
  kubectl steerer watch podinfo -n test
  kubectl steerer pause podinfo -n test
  kubectl steerer promote podinfo -n test --force
  kubectl steerer dashboard --metrics-server=http://127.0.0.1:9090
`;

export function helpText(topic: Command | undefined): string {
  return topic === undefined ? USAGE : PAGES[topic];
}

/** What follows a usage error: the command's usage line (or the command list) and a pointer. */
export function usageHint(command: Command | undefined): string {
  if (command === undefined)
    return `${USAGE.split('\n\n').slice(1, 3).join('\n\n')}\n\nRun "kubectl steerer --help" for more.\n`;
  const line = PAGES[command].split('\n').find((l) => l.startsWith('Usage:')) ?? '';
  return `${line}\nRun "kubectl steerer ${command} --help" for more.\n`;
}
