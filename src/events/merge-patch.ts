/**
 * RFC 7396 JSON Merge Patch. A patch that is not an object replaces the target; an
 * object patch merges member by member, `null` deleting a member. Inputs are never
 * mutated; the result may share untouched subtrees with them, so treat it as frozen.
 */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isJsonObject(patch)) return patch;
  const result: Record<string, unknown> = {};
  if (isJsonObject(target)) {
    for (const [name, value] of Object.entries(target)) defineMember(result, name, value);
  }
  for (const [name, value] of Object.entries(patch)) {
    if (value === null) {
      delete result[name];
    } else {
      const current = Object.hasOwn(result, name) ? result[name] : undefined;
      defineMember(result, name, applyMergePatch(current, value));
    }
  }
  return result;
}

/** Arrays are values to RFC 7396, replaced whole like strings and numbers. */
function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

// Plain assignment of a "__proto__" member (JSON.parse makes it an own key) would
// change the result's prototype instead of adding a member.
function defineMember(object: Record<string, unknown>, name: string, value: unknown): void {
  Object.defineProperty(object, name, {
    value,
    enumerable: true,
    writable: true,
    configurable: true,
  });
}
