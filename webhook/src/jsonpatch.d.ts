// Types for the untyped `jsonpatch` package (RFC 6902), only what the webhook uses.
declare module 'jsonpatch' {
  /** Applies `patch` to a copy of `doc`; throws PatchApplyError or InvalidPatch. */
  export function apply_patch<T>(doc: T, patch: readonly unknown[]): T;
  export class PatchApplyError extends Error {}
  export class InvalidPatch extends Error {}
  const jsonpatch: {
    apply_patch: typeof apply_patch;
    PatchApplyError: typeof PatchApplyError;
    InvalidPatch: typeof InvalidPatch;
  };
  export default jsonpatch;
}
