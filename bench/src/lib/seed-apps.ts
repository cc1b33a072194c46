// Copies of the seed's example (test/fixtures/seed) under other names, so several can run
// side by side in one namespace: `podinfo` becomes NAME everywhere it names an object or
// a host (never in the image or the command), and app.example.com becomes
// NAME.example.com. Everything else is the seed's text.

import { seedYaml } from '@steerer/test/e2e/harness';

const PODINFO = /(?<![\w/.])podinfo(?![\w:])/g;

function renamed(file: string, namespace: string, name: string): string {
  return seedYaml(file, namespace)
    .replace(PODINFO, name)
    .replace(/\bapp\.example\.com\b/g, `${name}.example.com`);
}

export interface SeedApp {
  namespace: string;
  name: string;
  canaryName: string;
  /** Primary Deployment and Service, canary Deployment and Service, VirtualService. */
  workloads: string;
  rollout: string;
  /** The canary manifest with a pod-template annotation that makes revision `n`. */
  canary(n: number): string;
}

export function seedNamespace(namespace: string): string {
  return seedYaml('namespace.yaml', namespace);
}

export function seedApp(namespace: string, name: string): SeedApp {
  const canary = renamed('canary.yaml', namespace, name);
  return {
    namespace,
    name,
    canaryName: `${name}-canary`,
    workloads: [
      renamed('primary.yaml', namespace, name),
      canary,
      renamed('virtualservice.yaml', namespace, name),
    ].join('\n---\n'),
    rollout: renamed('rollout.yaml', namespace, name),
    canary: (n) =>
      canary.replace(
        /^(\s+)prometheus\.io\/scrape: "true"$/m,
        `$1prometheus.io/scrape: "true"\n$1bench.steerer.io/repetition: "${n}"`,
      ),
  };
}
