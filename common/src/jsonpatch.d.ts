// Types for the parts of the untyped `jsonpatch` package (RFC 6902) that json-patch.ts uses.
declare module 'jsonpatch' {
  interface JsonPatch {
    /** Applies `patch` to a copy of `doc` (the input is left intact); throws on failure. */
    apply_patch<T>(doc: T, patch: readonly object[]): T;
    PatchApplyError: new (message: string) => Error;
    InvalidPatch: new (message: string) => Error;
  }
  const jsonpatch: JsonPatch;
  export = jsonpatch;
}
