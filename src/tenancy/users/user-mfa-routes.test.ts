import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { outboxRows } from '../../../test/helpers/email-fixture.ts';
import { factorRows, seedFactors } from '../../../test/helpers/mfa-factors-fixture.ts';
import type { Credential } from '../../../test/helpers/tenancy-fixture.ts';
import { usersTestApp } from '../../../test/helpers/tenancy-users-fixture.ts';
import { testEngines } from '../../../test/helpers/test-database.ts';

// Issue 18 item 6: administrators list and reset a member's second factors.

const mfaOf = (id: string) => `/users/${id}/mfa`;

/** How many factor rows of every kind the user has left. */
async function factorTotal(app: { db: Parameters<typeof factorRows>[0] }, userId: string) {
  return Object.values(await factorRows(app.db, userId)).reduce((sum, n) => sum + n, 0);
}

/** The app with email queued (logged, not sent) so the reset's notice can be read. */
const appFor = (
  t: Parameters<typeof usersTestApp>[0],
  engine: Parameters<typeof usersTestApp>[1],
) => usersTestApp(t, engine, { email: { transport: 'log' } });

for (const engine of testEngines()) {
  describe(`a member's MFA, administered (${engine})`, () => {
    it('lists factors without a secret, digest or key', async (t) => {
      const app = await appFor(t, engine);
      const admin = await app.keyFor('acme');
      const ann = await app.member('acme', 'ann@acme.test', ['viewer']);
      const seeded = await seedFactors(app.db, ann.id, { at: Date.parse('2026-01-02T03:04:05Z') });
      const listed = await app.send('GET', mfaOf(ann.id), admin);
      assert.equal(listed.status, 200);
      assert.deepEqual(listed.body, {
        totp: { enabled: true, confirmed_at: '2026-01-02T03:04:05.000Z' },
        passkeys: [
          {
            id: `cred-${ann.id}-1`,
            name: 'Key 1',
            created_at: '2026-01-02T03:04:05.000Z',
            last_used_at: null,
            device_type: 'singleDevice',
            backed_up: false,
          },
          {
            id: `cred-${ann.id}-2`,
            name: 'Key 2',
            created_at: '2026-01-02T03:04:05.001Z',
            last_used_at: '2026-01-02T03:04:05.010Z',
            device_type: 'multiDevice',
            backed_up: true,
          },
        ],
        recovery_codes: { remaining: 3 },
      });
      const text = JSON.stringify(listed.body);
      for (const hidden of [seeded.secret, ...seeded.publicKeys, ...seeded.digests]) {
        assert.ok(!text.includes(hidden), hidden);
      }
      const bare = await app.member('acme', 'bare@acme.test', ['viewer']);
      assert.deepEqual((await app.send('GET', mfaOf(bare.id), admin)).body, {
        totp: { enabled: false, confirmed_at: null },
        passkeys: [],
        recovery_codes: { remaining: 0 },
      });
    });

    it('a reset removes every factor and pending step, emails the member, audits and counts', async (t) => {
      const app = await appFor(t, engine);
      const admin = await app.member('acme', 'admin@acme.test', ['admin']);
      const ann = await app.member('acme', 'ann@acme.test', ['viewer']);
      const bob = await app.member('acme', 'bob@acme.test', ['viewer']);
      await seedFactors(app.db, ann.id);
      await seedFactors(app.db, bob.id);
      const reset = await app.send('DELETE', mfaOf(ann.id), admin.token);
      assert.equal(reset.status, 204, JSON.stringify(reset.body));
      assert.deepEqual(await factorRows(app.db, ann.id), {
        totp_factors: 0,
        recovery_codes: 0,
        passkeys: 0,
        mfa_tokens: 0,
        webauthn_challenges: 0,
      });
      // Another member's factors are untouched.
      assert.deepEqual(Object.values(await factorRows(app.db, bob.id)), [1, 4, 2, 1, 1]);
      const notices = (await outboxRows(app.db)).filter((row) => row.template === 'mfa_changed');
      assert.deepEqual(
        notices.map((row) => [row.recipient, row.tenant_id]),
        [['ann@acme.test', 'acme']],
      );
      const trail = await app.audit('acme', 'mfa.');
      assert.equal(trail.length, 1);
      const { action, actor, actor_type, target, outcome, details } = trail[0] ?? {};
      assert.deepEqual(
        { action, actor, actor_type, target, outcome, details },
        {
          action: 'mfa.reset',
          actor: admin.id,
          actor_type: 'user',
          target: `user:${ann.id}`,
          outcome: 'success',
          details: { authenticator_apps: 1, webauthn_credentials: 2, recovery_codes: 4 },
        },
      );
      const metrics = (await app.app.inject({ url: '/metrics' })).body;
      const lines = metrics.split('\n');
      for (const method of ['totp', 'webauthn', 'recovery_code']) {
        const counted = lines.find(
          (line) =>
            line.startsWith('mfa_factor_changes_total{') &&
            line.includes(`method="${method}"`) &&
            line.includes('change="reset"'),
        );
        assert.equal(counted?.split(' ').at(-1), '1', method);
      }
      // Nothing left to reset: answered alike, audited, and nobody is emailed again.
      assert.equal((await app.send('DELETE', mfaOf(ann.id), admin.token)).status, 204);
      const after = (await outboxRows(app.db)).filter((row) => row.template === 'mfa_changed');
      assert.equal(after.length, 1);
    });

    it('another tenant’s administrator finds no such user, and a viewer may not look', async (t) => {
      const app = await appFor(t, engine);
      const ann = await app.member('acme', 'ann@acme.test', ['viewer']);
      await seedFactors(app.db, ann.id);
      const globex = await app.keyFor('globex');
      for (const method of ['GET', 'DELETE']) {
        const refused = await app.send(method, mfaOf(ann.id), globex);
        assert.equal(refused.status, 404, method);
        assert.equal(refused.body.code, 'user_not_found');
        const unknown = await app.send(method, mfaOf('no-such-user'), await app.keyFor('acme'));
        assert.equal(unknown.status, 404);
      }
      const viewer = await app.member('acme', 'viewer@acme.test', ['viewer']);
      for (const as of [viewer.token, await app.keyFor('acme', 'developer')] as Credential[]) {
        for (const method of ['GET', 'DELETE']) {
          const denied = await app.send(method, mfaOf(ann.id), as);
          assert.equal(denied.status, 403, method);
          assert.equal(denied.body.code, 'permission_denied');
        }
      }
      assert.deepEqual(Object.values(await factorRows(app.db, ann.id)), [1, 4, 2, 1, 1]);
    });

    it('nobody resets a member stronger than themselves', async (t) => {
      const app = await appFor(t, engine);
      const created = await app.send('POST', '/roles', await app.keyFor('acme'), {
        name: 'gatekeeper',
        permissions: ['members:manage', 'events:read', 'metrics:read'],
      });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      const keeper = await app.member('acme', 'keeper@acme.test', ['gatekeeper']);
      const admin = await app.member('acme', 'admin@acme.test', ['admin']);
      const viewer = await app.member('acme', 'viewer@acme.test', ['viewer']);
      await seedFactors(app.db, admin.id);
      await seedFactors(app.db, viewer.id);
      for (const method of ['GET', 'DELETE']) {
        const refused = await app.send(method, mfaOf(admin.id), keeper.token);
        assert.equal(refused.status, 403, method);
        assert.equal(refused.body.code, 'role_not_delegable');
      }
      assert.equal(await factorTotal(app, admin.id), 9);
      assert.equal((await app.send('DELETE', mfaOf(viewer.id), keeper.token)).status, 204);
      assert.equal(await factorTotal(app, viewer.id), 0);
    });

    it('an identity other tenants share is a platform administrator’s to reset', async (t) => {
      const app = await appFor(t, engine);
      const shared = await app.member('acme', 'shared@example.test', ['viewer']);
      await app.keyFor('system');
      await app.services.tenancy.memberships.grant('system', shared.id, ['viewer']);
      await seedFactors(app.db, shared.id);
      for (const method of ['GET', 'DELETE']) {
        const refused = await app.send(method, mfaOf(shared.id), await app.keyFor('acme'));
        assert.equal(refused.status, 403, method);
        assert.equal(refused.body.code, 'identity_shared');
      }
      assert.equal(await factorTotal(app, shared.id), 9);
      assert.equal((await app.send('GET', mfaOf(shared.id), app.platform)).status, 200);
      assert.equal((await app.send('DELETE', mfaOf(shared.id), app.platform)).status, 204);
      assert.equal(await factorTotal(app, shared.id), 0);
    });

    it('GET /auth/mfa tells a user their own factors; an API key has none', async (t) => {
      const app = await appFor(t, engine);
      const ann = await app.member('acme', 'ann@acme.test', ['viewer']);
      const bare = await app.send('GET', '/auth/mfa', ann.token);
      assert.deepEqual(bare.body, {
        totp: { enabled: false },
        passkeys: 0,
        recovery_codes: { remaining: 0 },
        methods: [],
      });
      await seedFactors(app.db, ann.id);
      assert.deepEqual((await app.send('GET', '/auth/mfa', ann.token)).body, {
        totp: { enabled: true },
        passkeys: 2,
        recovery_codes: { remaining: 3 },
        methods: ['totp', 'webauthn', 'recovery_code'],
      });
      const byKey = await app.send('GET', '/auth/mfa', await app.keyFor('acme'));
      assert.equal(byKey.status, 400);
      assert.equal(byKey.body.code, 'bad_request');
    });

    it('/tenants/{id}/stats counts the active members by factor', async (t) => {
      const app = await appFor(t, engine);
      const admin = await app.keyFor('acme');
      const totpOnly = await app.member('acme', 'a@acme.test', ['viewer']);
      const both = await app.member('acme', 'b@acme.test', ['viewer']);
      const passkeyOnly = await app.member('acme', 'c@acme.test', ['viewer']);
      await app.member('acme', 'd@acme.test', ['viewer']);
      const gone = await app.member('acme', 'e@acme.test', ['viewer']);
      const elsewhere = await app.member('globex', 'f@globex.test', ['viewer']);
      await seedFactors(app.db, both.id);
      await seedFactors(app.db, gone.id);
      await seedFactors(app.db, elsewhere.id);
      await app.db.kysely
        .insertInto('totp_factors')
        .values({
          user_id: totpOnly.id,
          secret: 's',
          confirmed_ms: 1,
          last_step: null,
          created_ms: 1,
        })
        .execute();
      await seedFactors(app.db, passkeyOnly.id);
      await app.db.kysely
        .deleteFrom('totp_factors')
        .where('user_id', '=', passkeyOnly.id)
        .execute();
      assert.equal((await app.send('POST', `/users/${gone.id}/deactivate`, admin)).status, 200);
      const stats = await app.send('GET', '/tenants/acme/stats', admin);
      assert.equal(stats.status, 200);
      assert.deepEqual(stats.body.mfa, {
        members_with_totp: 2,
        members_with_passkeys: 2,
        members_with_any_factor: 3,
        members_without_factor: 1,
      });
      const empty = await app.send('GET', '/tenants/globex/stats', app.platform);
      assert.deepEqual(empty.body.mfa, {
        members_with_totp: 1,
        members_with_passkeys: 1,
        members_with_any_factor: 1,
        members_without_factor: 0,
      });
    });
  });
}
