// The cluster as the commands see it: a small interface (tests use a fake) and its
// implementation on @steerer/common's KubeClient and Informer. Every failure leaves here
// as a CliError carrying the sentence for the user.

import { ANNOTATIONS, Informer, KubeClient, ROLLOUT, resourcePath } from '@steerer/common';
import type { EventObject, LogFields, Logger, Request, RolloutObject } from '@steerer/common';
import { describeKubeError } from './errors.js';
import type { Operation, Target } from './errors.js';
import { loadKubeConfig } from './kubeconfig.js';
import type { ConnectOptions } from './kubeconfig.js';

/** The field manager of the plugin's writes (the controller's is `steerer`). */
export const CLI_FIELD_MANAGER = 'kubectl-steerer';

/** The Rollout resource as RBAC and error messages name it. */
export const ROLLOUT_RESOURCE = `${ROLLOUT.plural}.${ROLLOUT.group}`;

/** What a live watch of one Rollout reports. */
export interface RolloutSink {
  /** The Rollout as it is now; undefined once it has been deleted. */
  rollout(rollout: RolloutObject | undefined): void;
  /** Every Event of the Rollout known so far, in no particular order (unwatched when absent). */
  events?(events: EventObject[]): void;
  /** The connection is in trouble and being retried (undefined: it works again). */
  trouble(message: string | undefined): void;
}

export interface Kube {
  /** The API server's URL, for messages. */
  readonly server: string;
  /** Rollouts of one namespace, or of all with undefined. */
  listRollouts(namespace: string | undefined): Promise<RolloutObject[]>;
  getRollout(namespace: string, name: string): Promise<RolloutObject>;
  /** The Events whose involved object is this Rollout. */
  listEvents(namespace: string, name: string): Promise<EventObject[]>;
  /** Writes the manual request annotation; resolves to the Rollout as patched. */
  annotateRequest(namespace: string, name: string, request: Request): Promise<RolloutObject>;
  /** Follows the Rollout and its Events until `signal` aborts; never rejects. */
  watch(namespace: string, name: string, sink: RolloutSink, signal: AbortSignal): Promise<void>;
  close(): void;
}

export interface Connected {
  kube: Kube;
  /** The namespace from -n, the context, or "default". */
  namespace: string;
  /** The client and where it connects (the dashboard works on them; absent in memory). */
  cluster?: { client: KubeClient; target: Target };
}

interface List<T> {
  items: T[];
}

export function rolloutsPath(namespace: string | undefined, name?: string): string {
  return resourcePath({
    group: ROLLOUT.group,
    version: ROLLOUT.version,
    plural: ROLLOUT.plural,
    namespace,
    name,
  });
}

function eventsPath(namespace: string): string {
  return resourcePath({ group: '', version: 'v1', plural: 'events', namespace });
}

function eventSelector(name: string): string {
  return `involvedObject.name=${name},involvedObject.kind=${ROLLOUT.kind}`;
}

/** A Logger that turns an informer's complaints into the sink's trouble line. */
function troubleLogger(sink: RolloutSink): Logger {
  const report = (message: string, fields?: LogFields): void => {
    // The informer's error text starts with the request line ("WATCH /apis/…: "): drop it.
    const error =
      typeof fields?.error === 'string' ? fields.error.replace(/^[A-Z]+ \/\S+: /, '') : undefined;
    sink.trouble(error === undefined ? message : `${message}: ${error}`);
  };
  const logger: Logger = {
    error: report,
    warn: report,
    info: () => undefined,
    debug: () => undefined,
    child: () => logger,
  };
  return logger;
}

export class ClusterKube implements Kube {
  constructor(
    private readonly client: KubeClient,
    private readonly target: Target,
    /** Aborts every request (Ctrl-C). */
    private readonly signal: AbortSignal,
  ) {}

  get server(): string {
    return this.target.server;
  }

  private async call<T>(op: Operation, f: () => Promise<T>): Promise<T> {
    try {
      return await f();
    } catch (e) {
      throw describeKubeError(e, op, this.target);
    }
  }

  private rolloutOp(verb: Operation['verb'], namespace?: string, name?: string): Operation {
    return { verb, resource: ROLLOUT_RESOURCE, kind: 'rollout', namespace, name };
  }

  listRollouts(namespace: string | undefined): Promise<RolloutObject[]> {
    return this.call(this.rolloutOp('list', namespace), async () => {
      const list = await this.client.list<List<RolloutObject>>(rolloutsPath(namespace), {
        signal: this.signal,
      });
      return list.items;
    });
  }

  getRollout(namespace: string, name: string): Promise<RolloutObject> {
    return this.call(this.rolloutOp('get', namespace, name), () =>
      this.client.get<RolloutObject>(rolloutsPath(namespace, name), { signal: this.signal }),
    );
  }

  listEvents(namespace: string, name: string): Promise<EventObject[]> {
    const op: Operation = { verb: 'list', resource: 'events', kind: 'event', namespace };
    return this.call(op, async () => {
      const list = await this.client.list<List<EventObject>>(eventsPath(namespace), {
        query: { fieldSelector: eventSelector(name) },
        signal: this.signal,
      });
      return list.items;
    });
  }

  annotateRequest(namespace: string, name: string, request: Request): Promise<RolloutObject> {
    const body = { metadata: { annotations: { [ANNOTATIONS.request]: request } } };
    return this.call(this.rolloutOp('patch', namespace, name), () =>
      this.client.patch<RolloutObject>(rolloutsPath(namespace, name), 'merge', body, {
        query: { fieldManager: CLI_FIELD_MANAGER },
        signal: this.signal,
      }),
    );
  }

  async watch(
    namespace: string,
    name: string,
    sink: RolloutSink,
    signal: AbortSignal,
  ): Promise<void> {
    const logger = troubleLogger(sink);
    const rollouts = new Informer<RolloutObject>(this.client, {
      path: rolloutsPath(namespace),
      fieldSelector: `metadata.name=${name}`,
      logger,
    });
    rollouts.on((event, obj) => {
      sink.trouble(undefined);
      sink.rollout(event === 'delete' ? undefined : obj);
    });
    const running = [rollouts.run(signal)];
    const onEvents = sink.events?.bind(sink);
    if (onEvents) {
      const events = new Informer<EventObject>(this.client, {
        path: eventsPath(namespace),
        fieldSelector: eventSelector(name),
        logger,
      });
      events.on(() => {
        sink.trouble(undefined);
        onEvents(events.list());
      });
      running.push(events.run(signal));
    }
    await Promise.all(running);
  }

  close(): void {
    this.client.close();
  }
}

/** Reads the kubeconfig (throwing a CliError on any problem) and returns the cluster. */
export function connect(opts: ConnectOptions, signal: AbortSignal, env = process.env): Connected {
  const loaded = loadKubeConfig(opts, env);
  const client = new KubeClient(loaded.kc, { userAgent: CLI_FIELD_MANAGER, timeoutMs: 20_000 });
  return {
    kube: new ClusterKube(client, loaded, signal),
    namespace: loaded.namespace,
    cluster: { client, target: loaded },
  };
}
