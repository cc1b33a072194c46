// Public API of @steerer/webhook: the express app, the pure admission handlers and the
// webhook configuration manifests. The process entry point is main.ts.

export * from './admission.js';
export * from './endpoints.js';
export * from './lookup.js';
export * from './metrics.js';
export * from './mutate-deployment.js';
export * from './validate-rollout.js';
export * from './validate-route.js';
export * from './app.js';
export * from './config.js';
export * from './manifests.js';
export * from './serving-certificate.js';
