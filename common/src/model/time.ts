// Timestamps as Kubernetes writes them: RFC 3339 in whole seconds (metav1.Time) for
// events and annotations, and with microseconds (metav1.MicroTime) for Leases.

/** RFC 3339 in whole seconds, e.g. 2026-01-01T00:00:00Z. */
export function kubeTime(at: number | Date): string {
  return new Date(at).toISOString().replace(/\.\d+Z$/, 'Z');
}

/** RFC 3339 with microseconds, e.g. 2026-01-01T00:00:00.123000Z. */
export function microTime(at: number | Date): string {
  return new Date(at).toISOString().replace(/(\.\d{3})Z$/, '$1000Z');
}
