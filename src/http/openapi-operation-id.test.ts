import assert from 'node:assert/strict';
import { it } from 'node:test';
import { operationIdFor } from './openapi-operation-id.ts';

it('names an operation after its method and path, collections before a parameter singular', () => {
  for (const [method, path, expected] of [
    ['get', '/api/v1/entities/{entity_id}/events', 'getEntityEvents'],
    ['post', '/api/v1/entities/{entity_id}/events', 'postEntityEvents'],
    ['get', '/api/v1/entities', 'getEntities'],
    ['delete', '/api/v1/teams/{id}/members/{user_id}', 'deleteTeamMember'],
    ['delete', '/api/v1/auth/api-keys/{id}', 'deleteAuthApiKey'],
    ['delete', '/api/v1/lockouts/ips/{ip}', 'deleteLockoutsIp'],
    ['get', '/api/v1/snapshots/{entity_id}/latest', 'getSnapshotLatest'],
    ['get', '/api/v1/statuses/{id}', 'getStatus'],
    ['get', '/api/v1/addresses/{id}', 'getAddress'],
    ['get', '/.well-known/jwks.json', 'getWellKnownJwksJson'],
    ['GET', '/health', 'getHealth'],
    ['get', '/api/v2/entities/:entity_id', 'getApiV2Entity'],
  ] as const) {
    assert.equal(operationIdFor(method, path), expected, `${method} ${path}`);
  }
});
