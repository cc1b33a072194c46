// How a destination host written in a Rollout or a route (name, name.namespace,
// name.namespace.svc or a full cluster name) names a Service.

/** Expands a host to its FQDN, relative to `namespace`. */
export function fqdn(host: string, namespace: string): string {
  const parts = host.split('.');
  if (parts.length === 1) return `${host}.${namespace}.svc.cluster.local`;
  if (parts.length === 2) return `${host}.svc.cluster.local`;
  if (parts.length === 3 && parts[2] === 'svc') return `${host}.cluster.local`;
  return host;
}

/** The Service a host names: "name", "name.ns" or an FQDN, relative to `namespace`. */
export function serviceOfHost(
  host: string,
  namespace: string,
): { namespace: string; name: string } {
  const [name, ns] = host.split('.');
  return { namespace: ns ?? namespace, name: name ?? host };
}

/** The informer key (namespace/name) of the Service a host names. */
export function serviceKeyOfHost(host: string, namespace: string): string {
  const s = serviceOfHost(host, namespace);
  return `${s.namespace}/${s.name}`;
}

/**
 * True when two hosts certainly name the same Service: equal once expanded to FQDNs in
 * `namespace`, or, without a namespace, equal where both spell one out.
 */
export function sameService(a: string, b: string, namespace: string | undefined): boolean {
  if (a === b) return true;
  if (namespace !== undefined) return fqdn(a, namespace) === fqdn(b, namespace);
  return a.includes('.') && b.includes('.') && fqdn(a, '') === fqdn(b, '');
}
