// The controller's own recent writes, remembered until the informers catch up, so a pass
// never acts on a cache older than what the controller itself wrote.

import type { KubeObject } from '@steerer/common';

export const OVERLAY_TTL_MS = 30_000;

/** resourceVersion as a number; -1 when absent or not numeric. */
export function rvNumber(o: KubeObject | undefined): number {
  const rv = o?.metadata.resourceVersion;
  if (rv === undefined || rv === '') return -1;
  const n = Number(rv);
  return Number.isFinite(n) ? n : -1;
}

interface Entry {
  obj: KubeObject;
  at: number;
}

export class WriteOverlay {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly ttlMs = OVERLAY_TTL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** Remembers an object the controller just wrote (the API server's answer). */
  record(id: string, obj: KubeObject): void {
    this.entries.set(id, { obj, at: this.now() });
  }

  /**
   * The object to act on: the recorded write while it is newer than the cached object,
   * else the cached object (and the write is forgotten once the cache has caught up or
   * the write is older than the TTL).
   */
  read<T extends KubeObject>(id: string, cached: T | undefined): T | undefined {
    const e = this.entries.get(id);
    if (!e) return cached;
    if (this.now() - e.at > this.ttlMs || (cached && rvNumber(cached) >= rvNumber(e.obj))) {
      this.entries.delete(id);
      return cached;
    }
    return e.obj as T;
  }

  /** The informer saw the object deleted: a write it had not caught up with is void. */
  deleted(id: string, obj: KubeObject): void {
    const e = this.entries.get(id);
    if (e && rvNumber(obj) >= rvNumber(e.obj)) this.entries.delete(id);
  }

  get size(): number {
    return this.entries.size;
  }
}
