// What the dashboard's server needs from whoever starts it (`kubectl steerer dashboard`): a
// Kubernetes client on the user's kubeconfig, the sentences for failed calls, and the
// manual requests written exactly as the plugin writes them.

import type { KubeClient, Request, RolloutObject, Verb } from '@steerer/common';

/** What the server was doing when a call to the API server failed. */
export interface Operation {
  verb: Verb;
  /** As RBAC names it: `rollouts.apps.weave.works`, `events`. */
  resource: string;
  kind: string;
  namespace?: string | undefined;
  name?: string | undefined;
}

/** Whether the controller has handled a request (the plugin's rule). */
export type Handling =
  | { state: 'pending' }
  | {
      state: 'handled';
      lastRequest: { action: string; outcome: 'Done' | 'Refused'; message: string };
    }
  | {
      state: 'replaced';
      lastRequest: { action: string; outcome: 'Done' | 'Refused'; message: string };
    };

export interface ClusterAccess {
  client: KubeClient;
  /** The API server's URL and the kubeconfig context, for messages. */
  server: string;
  context: string;
  /** The context's namespace: where to look when the user may not list cluster-wide. */
  defaultNamespace: string;
  /** One sentence for a failed call ("user X may not patch rollouts… in namespace Y: …"). */
  describe(e: unknown, op: Operation): string;
  /** Writes the request annotation; resolves to when the API server recorded it (ms). */
  writeRequest(namespace: string, name: string, request: Request): Promise<number>;
  /** Whether `rollout` shows the request written at `writtenAt` handled. */
  handling(rollout: RolloutObject, request: Request, writtenAt: number): Handling;
}
