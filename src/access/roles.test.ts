import assert from 'node:assert/strict';
import { it } from 'node:test';
import { isCustomRoleName, permissionsOf, roleWithin } from './roles.ts';

it('grants each role its permissions, and platform permissions only to system admins', () => {
  assert.ok(permissionsOf(['admin'], 'acme').has('api_keys:manage'));
  assert.equal(permissionsOf(['admin'], 'acme').has('platform:tenants'), false);
  assert.ok(permissionsOf(['admin'], 'system').has('platform:tenants'));
  assert.equal(permissionsOf(['developer'], 'system').has('platform:tenants'), false);
  assert.deepEqual([...permissionsOf(['viewer'], 'acme')].sort(), ['events:read', 'metrics:read']);
  assert.deepEqual([...permissionsOf(['guest'], 'acme')], []);
  assert.deepEqual(
    [...permissionsOf(['root', 'superuser'], 'acme')],
    [],
    'unknown roles grant nothing',
  );
  const both = permissionsOf(['viewer', 'operator'], 'acme');
  assert.ok(both.has('events:write') && both.has('metrics:read'));
});

it('lets a role be delegated only by someone holding all it grants', () => {
  const operator = permissionsOf(['operator'], 'acme');
  assert.ok(roleWithin('service', operator));
  assert.ok(roleWithin('guest', operator));
  assert.equal(roleWithin('viewer', operator), false, 'viewer adds metrics:read');
  assert.equal(roleWithin('admin', permissionsOf(['developer'], 'acme')), false);
  assert.ok(roleWithin('admin', permissionsOf(['admin'], 'acme')));
});

it('grants custom roles only what their tenant defines, never platform permissions', () => {
  const custom = new Map([['reader', ['events:read' as const]]]);
  assert.deepEqual([...permissionsOf(['reader'], 'acme', custom)], ['events:read']);
  assert.deepEqual([...permissionsOf(['reader'], 'acme')], [], 'unknown without the tenant map');
  assert.deepEqual([...permissionsOf(['writer'], 'acme', custom)], []);
  assert.equal(permissionsOf(['reader', 'admin'], 'system', custom).has('platform:backups'), true);
});

it('tells custom role names from built-in ones and from anything else', () => {
  for (const name of ['reader', 'ops-2', 'a']) assert.ok(isCustomRoleName(name), name);
  for (const name of ['admin', 'Reader', 'read_only', '2ops', '', 'x'.repeat(64), 'a"b']) {
    assert.equal(isCustomRoleName(name), false, name);
  }
});
