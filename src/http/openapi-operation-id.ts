/** The versioned API prefix adds nothing to a name: `getEntityEvents`, not `getApiV1EntityEvents`. */
const API_V1 = /^\/api\/v1(?=\/|$)/;

/**
 * A stable, unique `operationId` derived from method and path, so that no route has
 * to remember one and generated clients get readable method names: the method, then
 * every literal path segment in camelCase, a collection followed by a parameter in
 * the singular (`GET /api/v1/entities/{entity_id}/events` → `getEntityEvents`,
 * `DELETE /api/v1/teams/{id}/members/{user_id}` → `deleteTeamMember`).
 * A route that needs another name sets `schema.operationId`.
 */
export function operationIdFor(method: string, path: string): string {
  const segments = path.replace(API_V1, '').split('/').filter(Boolean);
  const words: string[] = [];
  segments.forEach((segment, index) => {
    if (isParameter(segment)) return;
    const next = segments[index + 1];
    const word = next !== undefined && isParameter(next) ? singular(segment) : segment;
    words.push(...word.split(/[^A-Za-z0-9]+/).filter(Boolean));
  });
  return method.toLowerCase() + words.map(capitalized).join('');
}

function isParameter(segment: string): boolean {
  return segment.startsWith('{') || segment.startsWith(':');
}

/** English plurals of the kind REST paths use (entities, ips, api-keys, statuses). */
function singular(word: string): string {
  if (word.endsWith('ies')) return `${word.slice(0, -3)}y`;
  if (/(ss|us)$/.test(word)) return word;
  if (/(sses|uses|xes|ches|shes)$/.test(word)) return word.slice(0, -2);
  if (word.endsWith('s')) return word.slice(0, -1);
  return word;
}

function capitalized(word: string): string {
  return word.charAt(0).toUpperCase() + word.slice(1);
}
