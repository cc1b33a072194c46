// The page's addresses: #/ (the overview, with its filter in the query) and
// #/rollouts/NS/NAME (one Rollout). Pure, so it is unit-tested.

export type Route =
  | { kind: 'overview'; namespace: string; text: string }
  | { kind: 'rollout'; namespace: string; name: string };

export function routeOf(hash: string): Route {
  const path = hash.replace(/^#/, '') || '/';
  const m = /^\/rollouts\/([^/?]+)\/([^/?]+)\/?$/.exec(path);
  if (m?.[1] && m[2]) {
    return { kind: 'rollout', namespace: decodeURIComponent(m[1]), name: decodeURIComponent(m[2]) };
  }
  const q = path.indexOf('?');
  const query = new URLSearchParams(q >= 0 ? path.slice(q + 1) : '');
  return { kind: 'overview', namespace: query.get('namespace') ?? '', text: query.get('q') ?? '' };
}

export function rolloutHash(namespace: string, name: string): string {
  return `#/rollouts/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}`;
}

export function overviewHash(
  filter: { namespace: string; text: string } = { namespace: '', text: '' },
): string {
  const query = new URLSearchParams();
  if (filter.namespace) query.set('namespace', filter.namespace);
  if (filter.text) query.set('q', filter.text);
  const s = query.toString();
  return s ? `#/?${s}` : '#/';
}
