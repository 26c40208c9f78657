import type { FieldError } from '../../platform/errors.ts';

/**
 * What an endpoint receives. `event_types`: patterns over the tenant's event types
 * (`order.*`; `*` alone is every type); `entity_prefix` narrows those to entities whose
 * id starts with it. `platform_events`: patterns over the audit actions of the tenant
 * (`user.*`, `session.revoked`). An empty list receives nothing of that kind.
 */
export interface WebhookFilters {
  readonly event_types: readonly string[];
  readonly entity_prefix: string | null;
  readonly platform_events: readonly string[];
}

/** Letters, digits and `.`, `_`, `:`, `-`, with `*` standing for any run of them. */
export const PATTERN = '^[A-Za-z0-9._:*-]{1,200}$';
export const MAX_PATTERNS = 50;

/** A pattern as a test: `*` matches any run of characters (dots included), the rest literally. */
export function matcherOf(patterns: readonly string[]): (name: string) => boolean {
  if (patterns.length === 0) return () => false;
  if (patterns.includes('*')) return () => true;
  const exact = new Set(patterns.filter((pattern) => !pattern.includes('*')));
  const globs = patterns
    .filter((pattern) => pattern.includes('*'))
    .map(
      (pattern) =>
        new RegExp(
          `^${pattern
            .split('*')
            .map((part) => part.replace(/[.]/g, '\\.'))
            .join('.*')}$`,
        ),
    );
  return (name) => exact.has(name) || globs.some((glob) => glob.test(name));
}

/** The rules the schema cannot say: something to receive, no duplicate pattern. */
export function filterProblems(filters: WebhookFilters): FieldError[] {
  const problems: FieldError[] = [];
  if (filters.event_types.length === 0 && filters.platform_events.length === 0) {
    problems.push({
      path: '/event_types',
      message: 'an endpoint must receive something: give event_types, platform_events or both',
    });
  }
  if (filters.entity_prefix !== null && filters.event_types.length === 0) {
    problems.push({
      path: '/entity_prefix',
      message: 'entity_prefix narrows event_types, which is empty',
    });
  }
  for (const name of ['event_types', 'platform_events'] as const) {
    if (new Set(filters[name]).size !== filters[name].length) {
      problems.push({ path: `/${name}`, message: 'a pattern is listed twice' });
    }
  }
  return problems;
}
