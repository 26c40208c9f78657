import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import {
  openTestDatabase,
  testEngines,
  testStorageConfig,
} from '../../../test/helpers/test-database.ts';
import { AUDIT_ENTITY, auditPartition } from '../../audit/audit-entry.ts';
import { openEventStore } from '../../events/open-event-store.ts';
import { hashPassword, verifyPassword } from '../../identity/login/passwords.ts';
import { createUserService } from '../../identity/users/user-service.ts';
import { createUserStore } from '../../identity/users/user-store.ts';
import { MIGRATIONS } from '../../migrations/index.ts';
import type { Engine } from '../../storage/database.ts';
import { migrateToLatest } from '../../storage/migrate.ts';
import { type Database, openDatabase } from '../../storage/open-database.ts';
import { grantRoles } from '../memberships/grant-roles.ts';
import { createMembershipStore } from '../memberships/membership-store.ts';
import { bootstrapPlatformAdmin, CREATE_ADMIN_HINT } from './bootstrap-admin.ts';

const PASSWORD = 'a long enough admin password';
const ENV = { TESSERA_ADMIN_EMAIL: ' Root@Example.com ', TESSERA_ADMIN_PASSWORD: PASSWORD };

function recordingLogger() {
  const lines: { level: string; obj: object; msg: string }[] = [];
  return {
    lines,
    info: (obj: object, msg: string) => lines.push({ level: 'info', obj, msg }),
    warn: (obj: object, msg: string) => lines.push({ level: 'warn', obj, msg }),
  };
}

async function migrated(t: TestContext, engine: Engine): Promise<Database> {
  const test = await openTestDatabase(engine);
  t.after(() => test.cleanup());
  await migrateToLatest(test.db, MIGRATIONS);
  return test.db;
}

async function admins(db: Database): Promise<string[]> {
  const members = await createMembershipStore(db).listMembers('system', { limit: 100 });
  const ids = members.filter((member) => member.roles.includes('admin')).map((m) => m.user_id);
  return (await createUserStore(db).findManyByIds(ids)).map((user) => user.email);
}

for (const engine of testEngines()) {
  describe(`bootstrapPlatformAdmin (${engine})`, () => {
    it('without the variables only warns, telling how to create one', async (t) => {
      const db = await migrated(t, engine);
      const logger = recordingLogger();
      assert.equal(await bootstrapPlatformAdmin(db, {}, logger), 'skipped');
      assert.equal(logger.lines.length, 1);
      assert.equal(logger.lines[0]?.level, 'warn');
      assert.ok(logger.lines[0]?.msg.includes(CREATE_ADMIN_HINT));
      assert.deepEqual(await admins(db), []);
    });

    it('creates the administrator once, logging no password', async (t) => {
      const db = await migrated(t, engine);
      const logger = recordingLogger();
      assert.equal(await bootstrapPlatformAdmin(db, ENV, logger), 'created');
      assert.deepEqual(await admins(db), ['root@example.com']);
      const credentials = await createUserStore(db).findCredentials('root@example.com');
      assert.equal(await verifyPassword(credentials?.password_hash ?? '', PASSWORD), true);
      assert.equal(logger.lines.length, 1);
      assert.equal(logger.lines[0]?.level, 'info');
      assert.ok(!JSON.stringify(logger.lines).includes(PASSWORD));

      // A restart, even with other values, changes nothing.
      const other = { TESSERA_ADMIN_EMAIL: 'x@example.com', TESSERA_ADMIN_PASSWORD: 'short' };
      assert.equal(await bootstrapPlatformAdmin(db, other, logger), 'exists');
      assert.equal(await bootstrapPlatformAdmin(db, {}, logger), 'exists');
      assert.equal(logger.lines.length, 1);
      assert.deepEqual(await admins(db), ['root@example.com']);

      // Audited once, in the platform's trail, as the server acting at start-up.
      const trail = await openEventStore(db).readStream(auditPartition('system'), AUDIT_ENTITY, {
        from_version: 0,
        direction: 'forward',
        limit: 10,
      });
      assert.deepEqual(
        trail.map((event) => {
          const { action, actor, actor_type, target, details } = event.payload as Record<
            string,
            unknown
          >;
          return { action, actor, actor_type, target, details };
        }),
        [
          {
            action: 'user.created',
            actor: 'startup',
            actor_type: 'system',
            target: `user:${credentials?.user.id}`,
            details: { email: 'root@example.com', platform_admin: true },
          },
        ],
      );
    });

    it('promotes an existing user, keeping its password and other roles', async (t) => {
      const db = await migrated(t, engine);
      const users = createUserService(db);
      const own = await hashPassword('the user own password');
      const user = await users.createUser({ email: 'root@example.com', password_hash: own });
      await db.transaction((trx) => grantRoles(trx, 'system', user.id, ['auditor']));
      assert.equal(await bootstrapPlatformAdmin(db, ENV, recordingLogger()), 'promoted');
      assert.equal((await users.findCredentials('root@example.com'))?.password_hash, own);
      assert.deepEqual(await createMembershipStore(db).rolesOf('system', user.id), [
        'admin',
        'auditor',
      ]);
    });

    it('gives an existing user without a password the one from the environment', async (t) => {
      const db = await migrated(t, engine);
      const users = createUserService(db);
      await users.createUser({ email: 'root@example.com' });
      assert.equal(await bootstrapPlatformAdmin(db, ENV, recordingLogger()), 'promoted');
      const stored = (await users.findCredentials('root@example.com'))?.password_hash ?? '';
      assert.equal(await verifyPassword(stored, PASSWORD), true);
    });

    it('fails start-up on a weak password, a bad email or half the pair, creating nothing', async (t) => {
      const db = await migrated(t, engine);
      const logger = recordingLogger();
      const cases: [Record<string, string>, RegExp][] = [
        [{ ...ENV, TESSERA_ADMIN_PASSWORD: 'short' }, /TESSERA_ADMIN_PASSWORD .*at least 12/],
        [{ ...ENV, TESSERA_ADMIN_PASSWORD: ' '.repeat(20) }, /whitespace/],
        [{ ...ENV, TESSERA_ADMIN_EMAIL: 'root' }, /TESSERA_ADMIN_EMAIL/],
        [{ TESSERA_ADMIN_EMAIL: 'root@example.com' }, /TESSERA_ADMIN_PASSWORD is not set/],
        [{ TESSERA_ADMIN_PASSWORD: PASSWORD }, /TESSERA_ADMIN_EMAIL is not set/],
      ];
      for (const [env, message] of cases) {
        await assert.rejects(
          bootstrapPlatformAdmin(db, env, logger, { passwordMinLength: 12 }),
          message,
        );
      }
      assert.deepEqual(await admins(db), []);
      assert.equal(await createUserStore(db).findByEmail('root@example.com'), undefined);
    });

    it('creates exactly one administrator when two nodes start at once', async (t) => {
      const target = await testStorageConfig(engine);
      t.after(() => target.cleanup());
      const nodes = [await openDatabase(target.storage), await openDatabase(target.storage)];
      t.after(() => Promise.all(nodes.map((node) => node.close())));
      await migrateToLatest(nodes[0] as Database, MIGRATIONS);
      const outcomes = await Promise.all(
        nodes.map((node) => bootstrapPlatformAdmin(node, ENV, recordingLogger())),
      );
      assert.deepEqual(outcomes.sort(), ['created', 'exists']);
      assert.deepEqual(await admins(nodes[1] as Database), ['root@example.com']);
    });
  });
}
