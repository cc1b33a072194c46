// @steerer/common: the isomorphic model (also at @steerer/common/model, which is what the
// planner and browser code import) plus the Node-only infrastructure every Steerer process
// shares: the Kubernetes REST client, informers and API discovery, the Prometheus client,
// the logger, flags, backoff and local JSON patching.

export * from './model/index.js';
export * from './backoff.js';
export * from './flags.js';
export * from './json-patch.js';
export * from './logger.js';
export * from './prometheus.js';
export * from './kube/client.js';
export * from './kube/kubeconfig.js';
export * from './kube/discovery.js';
export * from './kube/informer.js';
