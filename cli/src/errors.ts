// What goes wrong for a user of the plugin, as one clear sentence each: the CLI prints
// `error: <sentence>` on stderr and exits non-zero; never a stack trace.

import { ErrorCode, SteererError, errorMessage } from '@steerer/common';
import type { Verb } from '@steerer/common';

/** A failure the user can act on; `message` is the sentence to print. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** A command line the plugin cannot understand; printed with the command's usage. */
export class UsageError extends CliError {
  constructor(
    message: string,
    /** The command whose usage to show; undefined for the general usage. */
    readonly command?: string,
  ) {
    super(message, 2);
    this.name = 'UsageError';
  }
}

/** Ctrl-C (or SIGTERM) while a request to the API server was under way. */
export class Interrupted extends CliError {
  constructor() {
    super('interrupted', 130);
    this.name = 'Interrupted';
  }
}

/** What the plugin was doing when the API server (or the network) failed. */
export interface Operation {
  verb: Verb;
  /** As RBAC names it: `rollouts.apps.weave.works`, `events`. */
  resource: string;
  /** As a person names one object: `rollout`. */
  kind: string;
  /** Undefined for all namespaces. */
  namespace?: string | undefined;
  name?: string | undefined;
}

/** Where the plugin connects to, for sentences about connections and credentials. */
export interface Target {
  server: string;
  /** "kubeconfig /home/me/.kube/config", "the in-cluster service account", … */
  kubeconfig: string;
  context: string;
}

/** The API server's own explanation in a KubeClient error ("… HTTP 403 Forbidden: <this>"). */
function apiDetail(message: string): string {
  const m = /HTTP \d+(?: [A-Za-z]+)?: ([\s\S]*)$/.exec(message);
  return (m?.[1] ?? message).trim();
}

function where(op: Operation): string {
  return op.namespace === undefined ? 'cluster-wide' : `in namespace ${op.namespace}`;
}

function forbidden(detail: string, op: Operation): string {
  const user = /User "([^"]*)"/.exec(detail)?.[1];
  const who = user === undefined ? 'you' : `user "${user}"`;
  const scope =
    op.namespace === undefined
      ? 'cluster-wide (a ClusterRole with a ClusterRoleBinding)'
      : `in namespace ${op.namespace}`;
  return (
    `${who} may not ${op.verb} ${op.resource} ${where(op)}: ` +
    `your RBAC must allow "${op.verb}" on ${op.resource} ${scope}`
  );
}

function notFound(detail: string, op: Operation, target: Target): string {
  if (op.name !== undefined && detail.includes(`"${op.name}" not found`)) {
    return `${op.kind} ${op.name} not found in namespace ${op.namespace ?? 'default'}`;
  }
  return (
    `the cluster at ${target.server} does not serve ${op.resource}: ` +
    `is Steerer's CRD installed (kubectl apply -f charts/steerer/crds/rollouts.yaml)?`
  );
}

function apiFailure(e: SteererError, op: Operation, target: Target): string {
  const detail = apiDetail(e.message);
  if (e.status === 404) return notFound(detail, op, target);
  if (e.status === 403) return forbidden(detail, op);
  if (e.status === 401) {
    return (
      `the cluster at ${target.server} did not accept your credentials (401 Unauthorized): ` +
      `log in again or check the user of context ${target.context} in ${target.kubeconfig}`
    );
  }
  const what = op.name === undefined ? op.resource : `${op.kind} ${op.name}`;
  return `the API server refused to ${op.verb} ${what} ${where(op)} (HTTP ${e.status ?? '?'}): ${detail}`;
}

/** The reason a request never got an answer: the cause's message without our request line. */
function networkDetail(e: SteererError): string {
  if (e.cause !== undefined) return errorMessage(e.cause);
  return e.message.replace(/^[A-Z]+ \S+: /, '');
}

/** One sentence for a failed call to the API server. */
export function describeKubeError(e: unknown, op: Operation, target: Target): CliError {
  if (e instanceof CliError) return e;
  if (!(e instanceof SteererError)) {
    return new CliError(
      `cannot connect with context ${target.context} of ${target.kubeconfig}: ${errorMessage(e)}`,
    );
  }
  switch (e.code) {
    case ErrorCode.Aborted:
      return new Interrupted();
    case ErrorCode.Api:
      return new CliError(apiFailure(e, op, target));
    case ErrorCode.Network:
      return new CliError(
        `cannot reach the Kubernetes API server at ${target.server} (${networkDetail(e)}): ` +
          `is the cluster running, and is ${target.kubeconfig} the right one?`,
      );
    case ErrorCode.Timeout:
      return new CliError(
        `the Kubernetes API server at ${target.server} did not answer in time: ` +
          `is the cluster running, and is ${target.kubeconfig} the right one?`,
      );
    case ErrorCode.BadResponse:
      return new CliError(
        `the server at ${target.server} does not answer like a Kubernetes API server: ${e.message}`,
      );
    case ErrorCode.Invalid:
      return new CliError(`${target.kubeconfig}: ${e.message}`);
  }
}
