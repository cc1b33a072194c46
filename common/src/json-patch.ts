// Applying RFC 6902 patches locally (the `jsonpatch` package), to check that a patch the
// webhook is about to answer with applies, and in tests. Its typings live here, once.

import jsonpatch from 'jsonpatch';
import type { JsonPatchOp } from './model/json.js';

/** Applies `ops` to a copy of `doc` (the input is left intact); throws when one fails. */
export function applyJsonPatch<T>(doc: T, ops: readonly JsonPatchOp[]): T {
  return jsonpatch.apply_patch(doc, ops);
}
