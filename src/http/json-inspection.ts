import { TesseraError } from '../platform/errors.ts';
import { HttpErrors } from '../platform/http-errors.ts';
import { UNSTORABLE } from '../platform/unstorable-text.ts';
import { validationFailed } from '../platform/validation-failed.ts';

export function invalidCharacters(where: string, pointer?: string): TesseraError {
  return new TesseraError(
    HttpErrors.invalid_characters,
    `${where} contains the NUL character or a lone UTF-16 surrogate, which cannot be stored.`,
    pointer === undefined ? {} : { errors: [{ path: pointer, message: UNSTORABLE_MESSAGE }] },
  );
}

const UNSTORABLE_MESSAGE = 'must not contain the NUL character or a lone UTF-16 surrogate';

type Finding =
  | { readonly kind: 'too_deep' }
  | { readonly kind: 'text' | 'number'; readonly path: string };

/**
 * Checks a parsed JSON body before any route sees it: nesting at most `maxDepth`
 * containers deep, no unstorable text in strings or keys, no number JSON.parse turned
 * into Infinity (`1e999`). Iterative, so no body can overflow the stack here; and
 * every later step (validation, serialization, JSON.stringify, jsonb) may recurse
 * safely over what passes.
 */
export function inspectJsonBody(
  value: unknown,
  text: string,
  maxDepth: number,
): TesseraError | undefined {
  // JSON.parse only yields NUL or a lone surrogate from a \u escape: without one in
  // the text (the common case), strings need no look.
  const checkText = text.includes('\\u');
  // Most bodies are fine: a walk that builds no paths says so; only a refused body is
  // walked again to name where (the first walk cost about three JSON.parses).
  if (!hasProblem(value, maxDepth, checkText)) return undefined;
  const finding = findProblem(value, maxDepth, checkText);
  if (finding === undefined) return undefined;
  if (finding.kind === 'too_deep') {
    return new TesseraError(
      HttpErrors.json_too_deep,
      `The request body nests arrays and objects more than ${maxDepth} levels deep.`,
      { extensions: { max_depth: maxDepth } },
    );
  }
  if (finding.kind === 'text') {
    return invalidCharacters(`The request body at ${finding.path || '/'}`, finding.path);
  }
  return validationFailed([{ path: finding.path, message: 'must be a finite number' }]);
}

/** What findProblem finds, without building a path per value. */
function hasProblem(root: unknown, maxDepth: number, checkText: boolean): boolean {
  const values: unknown[] = [root];
  const depths: number[] = [0];
  while (values.length > 0) {
    const value = values.pop();
    const depth = depths.pop() as number;
    if (typeof value === 'string') {
      if (checkText && UNSTORABLE.test(value)) return true;
    } else if (typeof value === 'number') {
      if (!Number.isFinite(value)) return true;
    } else if (typeof value === 'object' && value !== null) {
      if (depth + 1 > maxDepth) return true;
      if (Array.isArray(value)) {
        for (const item of value) {
          values.push(item);
          depths.push(depth + 1);
        }
      } else {
        for (const key in value) {
          if (checkText && UNSTORABLE.test(key)) return true;
          values.push((value as Record<string, unknown>)[key]);
          depths.push(depth + 1);
        }
      }
    }
  }
  return false;
}

function findProblem(root: unknown, maxDepth: number, checkText: boolean): Finding | undefined {
  const pending: [value: unknown, depth: number, path: string][] = [[root, 0, '']];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [value, depth, path] = next;
    if (typeof value === 'string') {
      if (checkText && UNSTORABLE.test(value)) return { kind: 'text', path };
      continue;
    }
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) return { kind: 'number', path };
      continue;
    }
    if (typeof value !== 'object' || value === null) continue;
    if (depth + 1 > maxDepth) return { kind: 'too_deep' };
    if (Array.isArray(value)) {
      for (let index = value.length - 1; index >= 0; index--) {
        pending.push([value[index], depth + 1, `${path}/${index}`]);
      }
      continue;
    }
    for (const [key, item] of Object.entries(value)) {
      const at = `${path}/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`;
      if (checkText && UNSTORABLE.test(key)) return { kind: 'text', path: at };
      pending.push([item, depth + 1, at]);
    }
  }
  return undefined;
}
