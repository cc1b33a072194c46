// @steerer/common/model: the isomorphic part of Steerer — what a Rollout is, how it is
// validated and how its phases group, how routers read and patch a traffic split, how
// checks measure and judge a canary. Pure: nothing here imports Node built-ins, a logger,
// or the Kubernetes and Prometheus clients, so the planner and a browser can use it
// (model.bundle.test.ts bundles it for the browser to prove it).

export * from './annotations.js';
export * from './checks/index.js';
export * from './duration.js';
export * from './errors.js';
export * from './hooks.js';
export * from './hosts.js';
export * from './json.js';
export * from './names.js';
export * from './notifications.js';
export * from './objects.js';
export * from './phases.js';
export * from './refs.js';
export * from './requests.js';
export * from './rollout.js';
export * from './routing/index.js';
export * from './service.js';
export * from './slim.js';
export * from './template.js';
export * from './time.js';
export * from './validate.js';
