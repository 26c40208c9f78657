import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type BuildResponseOptions, NAMEID_EMAIL } from '../helpers/saml-idp.ts';
import { APP_URL, fragmentOf } from '../helpers/sso-fixture.ts';
import {
  answerWith,
  assertNobodySignedIn,
  assertRefused,
  atIdp,
  begin,
  connectSaml,
  forged,
  post,
  type SamlWorld,
  samlSignIn,
  samlWorld,
} from '../helpers/sso-saml-flow.ts';
import { testEngines } from '../helpers/test-database.ts';

const MINUTE = 60_000;

function person(email: string) {
  return {
    nameId: email,
    nameIdFormat: NAMEID_EMAIL,
    attributes: { email, groups: ['engineering'] },
  };
}

/** Who may appear in a forged answer: the IdP's user, and the wrapping attack's evil one. */
const EVIL = 'evil@attacker.test';

for (const engine of testEngines()) {
  describe(`SAML answers Tessera refuses (${engine})`, () => {
    let world: SamlWorld;
    before(async () => {
      world = await samlWorld(engine);
    });
    after(() => world.close());

    /** Each forged answer to a fresh request: its 4xx and reason, and nobody signed in. */
    async function refusesEach(
      tenant: string,
      cases: readonly (readonly [string, Partial<BuildResponseOptions>, string])[],
    ) {
      const { idp, sso } = world;
      const connection = await connectSaml(sso, idp, tenant, { extra: { trusted: true } });
      const email = `victim@${tenant}.example`;
      idp.user = person(email);
      for (const [what, options, reason] of cases) {
        const { answer } = await answerWith(sso, idp, connection.id, options);
        await assertRefused(sso, tenant, answer, 'sso_response_invalid', reason).catch(
          (error: Error) => {
            error.message = `${what}: ${error.message}`;
            throw error;
          },
        );
      }
      await assertNobodySignedIn(sso, tenant, connection.id, [email, EVIL]);
    }

    it('refuses an answer not signed by the IdP: unsigned, an attacker’s key, signature wrapping', async () => {
      await refusesEach('signatures', [
        ['unsigned response and assertion', { sign: 'none' }, 'signature_invalid'],
        ['signed by an attacker’s key', { sign: 'both', key: 'attacker' }, 'signature_invalid'],
        ['assertion signed by an attacker', { key: 'attacker' }, 'signature_invalid'],
        ['evil assertion before the signed one', { wrap: 'before' }, 'signature_invalid'],
        ['evil assertion after the signed one', { wrap: 'after' }, 'signature_invalid'],
        ['signed assertion inside an evil one', { wrap: 'inside' }, 'signature_invalid'],
      ]);
    });

    it('refuses a signed answer meant for another SP, place, request or time', async () => {
      const now = Date.now();
      await refusesEach('conditions', [
        ['another audience', { audience: 'https://other-sp.example/saml' }, 'audience_mismatch'],
        ['another recipient', { recipient: 'https://other-sp.example/acs' }, 'recipient_mismatch'],
        [
          'another destination',
          { destination: 'https://other-sp.example/acs' },
          'destination_mismatch',
        ],
        ['another request', { inResponseTo: '_not-the-request' }, 'in_response_to_mismatch'],
        [
          'expired beyond the clock skew',
          { notBefore: new Date(now - 30 * MINUTE), notOnOrAfter: new Date(now - 10 * MINUTE) },
          'expired',
        ],
        ['another issuer', { issuer: 'https://other-idp.example' }, 'issuer_mismatch'],
      ]);
    });

    it('refuses a document with a DTD before parsing it: external entity, entity expansion', async () => {
      await refusesEach('doctype', [
        ['an external entity (XXE)', { doctype: 'xxe' }, 'malformed'],
        ['billion laughs', { doctype: 'billion_laughs' }, 'malformed'],
      ]);
    });

    it('refuses a response answering an earlier request of the same browser', async () => {
      const { idp, sso } = world;
      const connection = await connectSaml(sso, idp, 'crossed');
      idp.user = person('victim@crossed.example');
      const jar = new Map<string, string>();
      const first = await begin(sso, idp, connection.id, jar);
      const second = await begin(sso, idp, connection.id, jar);
      const answer = await post(
        sso,
        { ...forged(idp, first, {}), RelayState: second.relayState },
        jar,
      );
      await assertRefused(
        sso,
        'crossed',
        answer,
        'sso_response_invalid',
        'in_response_to_mismatch',
      );
      // The refused request is spent: its own answer no longer completes it.
      const late = await post(sso, forged(idp, second, {}), jar);
      await assertRefused(sso, 'crossed', late, 'sso_response_invalid', 'unsolicited_response');
      await assertNobodySignedIn(sso, 'crossed', connection.id, ['victim@crossed.example']);
    });

    it('refuses the same response posted twice', async () => {
      const { idp, sso } = world;
      const connection = await connectSaml(sso, idp, 'replay');
      idp.user = person('once@replay.example');
      const jar = new Map<string, string>();
      const { form, done } = await samlSignIn(sso, idp, connection.id, jar);
      assert.equal(done.status, 303, done.body);
      const sessions = () =>
        sso.test.db.kysely
          .selectFrom('sessions')
          .select('id')
          .where('tenant_id', '=', 'replay')
          .execute();
      assert.equal((await sessions()).length, 1);
      // The response was answered and its request collected: posted again (by the same
      // browser or another), it answers nothing Tessera is waiting for.
      for (const browser of [jar, new Map<string, string>()]) {
        const again = await post(sso, form, browser);
        await assertRefused(sso, 'replay', again, 'sso_response_invalid', 'unsolicited_response');
      }
      // Posted twice before the completion: the second answer finds the request answered.
      const twice = await begin(sso, idp, connection.id, jar);
      const answer = await atIdp(twice.location);
      const back = await post(sso, answer, jar);
      assert.equal(back.status, 303, back.body);
      const replayed = await post(sso, answer, jar);
      await assertRefused(sso, 'replay', replayed, 'sso_response_invalid', 'unsolicited_response');
      // The first answer still completes, once.
      const collected = await sso.browse(back.location, { jar });
      assert.equal(collected.status, 303, collected.body);
      assert.equal((await sessions()).length, 2);
      // Posted twice at once: both may find the request waiting, but the assertion is
      // claimed once (the replay cache), and the request answered once.
      const racing = await begin(sso, idp, connection.id, jar);
      const raced = await atIdp(racing.location);
      const answers = await Promise.all([post(sso, raced, jar), post(sso, raced, jar)]);
      const accepted = answers.filter((one) => one.status === 303);
      assert.equal(accepted.length, 1, answers.map((one) => one.body).join('\n'));
      const refused = answers.find((one) => one.status !== 303);
      assert.equal(refused?.status, 401, refused?.body);
      assert.match(refused?.body ?? '', /\((replayed|unsolicited_response)\)/);
      const raceWon = await sso.browse(accepted[0]?.location ?? '', { jar });
      assert.equal(raceWon.status, 303, raceWon.body);
      assert.equal((await sessions()).length, 3);
      const links = await sso.test.db.kysely
        .selectFrom('sso_identities')
        .select('user_id')
        .where('connection_id', '=', connection.id)
        .execute();
      assert.equal(links.length, 1);
    });

    it("refuses tenant A's answer at tenant B's ACS, though one IdP serves both", async () => {
      const { idp, sso } = world;
      const a = await connectSaml(sso, idp, 'tenant-a', { extra: { trusted: true } });
      const b = await connectSaml(sso, idp, 'tenant-b', {
        extra: { trusted: true, idp_initiated: true },
      });
      idp.user = person('alice@tenant-a.example');
      const victim = new Map<string, string>();
      const atA = await begin(sso, idp, a.id, victim);
      const aForm = await atIdp(atA.location);
      const toB = { ...aForm, action: b.saml.acs_url };

      // With A's RelayState: no request of B's. B accepts unsolicited answers, but this one
      // answers a request (A's).
      const asIs = await post(sso, toB, victim);
      await assertRefused(sso, 'tenant-b', asIs, 'sso_response_invalid', 'in_response_to_mismatch');
      // With a RelayState of B's (an attacker started there): B's request is another.
      const attacker = new Map<string, string>();
      const atB = await begin(sso, idp, b.id, attacker);
      const crossed = await post(sso, { ...toB, RelayState: atB.relayState }, attacker);
      await assertRefused(
        sso,
        'tenant-b',
        crossed,
        'sso_response_invalid',
        'in_response_to_mismatch',
      );
      // Even answering B's request at B's ACS, an assertion for A's audience is refused.
      const atB2 = await begin(sso, idp, b.id, attacker);
      const forA = forged(idp, atB2, { audience: a.saml.sp_entity_id });
      const audience = await post(sso, forA, attacker);
      await assertRefused(sso, 'tenant-b', audience, 'sso_response_invalid', 'audience_mismatch');
      await assertNobodySignedIn(sso, 'tenant-b', b.id, ['alice@tenant-a.example']);
      const trailOfA = await sso.api('GET', '/api/v1/audit?action=sso.login', {
        tenant: 'tenant-a',
      });
      assert.deepEqual(trailOfA.json.events, []);

      // A's request was not B's to spend: A's own browser still completes at A.
      const back = await post(sso, aForm, victim);
      assert.equal(back.status, 303, back.body);
      const done = await sso.browse(back.location, { jar: victim });
      assert.equal(done.status, 303, done.body);
      assert.equal(fragmentOf(done.location).get('tenant_id'), 'tenant-a');
    });

    it('refuses the completion link opened in another browser, and spends it', async () => {
      const { idp, sso } = world;
      const connection = await connectSaml(sso, idp, 'stolen');
      idp.user = person('vic@stolen.example');
      const jar = new Map<string, string>();
      const begun = await begin(sso, idp, connection.id, jar);
      // The IdP's form, submitted by another browser (login CSRF): the answer is kept for
      // the browser that started it.
      const other = new Map<string, string>();
      const back = await post(sso, await atIdp(begun.location), other);
      assert.equal(back.status, 303, back.body);
      assert.equal(other.has('tessera_sso'), false);
      const stolen = await sso.browse(back.location, { jar: other });
      await assertRefused(sso, 'stolen', stolen, 'sso_request_invalid');
      assert.match(stolen.body, /another browser/);
      // Spent by that attempt: the right browser cannot collect it either.
      const late = await sso.browse(back.location, { jar });
      await assertRefused(sso, 'stolen', late, 'sso_request_invalid');
      assert.equal(late.location, '');
      assert.ok(!stolen.location.startsWith(APP_URL));
      await assertNobodySignedIn(sso, 'stolen', connection.id, ['vic@stolen.example']);
    });
  });
}
