#!/usr/bin/env node
// Prints the webhook configurations as a JSON List for `kubectl apply -f -`:
//   node webhook/dist/manifests-cli.js --name=steerer-webhook --url=https://127.0.0.1:8443 \
//     [--ca-file=ca.crt] [--namespace=ns]          # only admit objects of namespace ns
//     [--routers=VirtualService,HTTPRoute]          # route kinds to admit (default: all)
//   node webhook/dist/manifests-cli.js --name=steerer-webhook --service=istio-system/steerer-webhook:443

import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { routersNamed } from '@steerer/common';
import { webhookConfigurations } from './manifests.js';
import type { WebhookTarget } from './manifests.js';

const USAGE =
  'usage: manifests-cli.js --name=NAME (--url=https://HOST:PORT | --service=NS/NAME[:PORT]) [--ca-file=FILE] [--namespace=NS] [--routers=KIND,...]';

export function renderManifests(argv: readonly string[]): string {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      name: { type: 'string', default: 'steerer-webhook' },
      url: { type: 'string' },
      service: { type: 'string' },
      'ca-file': { type: 'string' },
      namespace: { type: 'string' },
      routers: { type: 'string' },
    },
    strict: true,
  });
  let target: WebhookTarget;
  if (values.url && !values.service) target = { url: values.url };
  else if (values.service && !values.url) {
    const m = /^([a-z0-9-]+)\/([a-z0-9-]+)(?::(\d+))?$/.exec(values.service);
    if (!m?.[1] || !m[2])
      throw new Error(`--service must be NAMESPACE/NAME[:PORT], got ${values.service}`);
    target = { service: { namespace: m[1], name: m[2], ...(m[3] ? { port: Number(m[3]) } : {}) } };
  } else throw new Error('give exactly one of --url and --service');
  const { mutating, validating } = webhookConfigurations({
    name: values.name,
    target,
    ...(values['ca-file'] ? { caBundlePEM: readFileSync(values['ca-file'], 'utf8') } : {}),
    ...(values.namespace
      ? { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': values.namespace } } }
      : {}),
    ...(values.routers !== undefined
      ? { routers: routersNamed(values.routers).map((r) => r.kind) }
      : {}),
  });
  return JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [mutating, validating] }, null, 2);
}

if (process.argv[1] && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    process.stdout.write(`${renderManifests(process.argv.slice(2))}\n`);
  } catch (e) {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n${USAGE}\n`);
    process.exit(2);
  }
}
