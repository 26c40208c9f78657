import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  type MagicLinkTestApp,
  magicLinkTestApp,
} from '../../../test/helpers/magic-link-fixture.ts';
import { tokenFrom } from '../../../test/helpers/smtp-sink.ts';
import { until } from '../../../test/helpers/until.ts';

/**
 * A magic link's continuation (issue 19): the hosted sign-in of an authorization
 * request asks for a link back into that request. Only server code can: the JSON API
 * refuses the field, so no caller makes an email link somewhere else.
 */
describe('a magic link that continues an authorization request', () => {
  let test: MagicLinkTestApp;
  const CONTEXT = {
    actor: null,
    actor_type: 'anonymous',
    ip: null,
    user_agent: null,
    request_id: null,
  } as const;
  before(async () => {
    test = await magicLinkTestApp('sqlite');
  });
  after(() => test?.close());

  async function linkTo(email: string, path: string): Promise<string> {
    await until(
      () => test.sink.to(email).some((mail) => mail.text.includes(path)),
      `a link to ${path} for ${email}`,
    );
    const mail = test.sink.to(email).find((m) => m.text.includes(path));
    return tokenFrom(mail as NonNullable<typeof mail>, path);
  }

  it('the JSON API cannot set one: 400, nothing sent', async () => {
    await test.member('cy@acme.test', ['acme']);
    for (const field of ['continue_path', 'continuePath']) {
      const refused = await test.requestLink({ email: 'cy@acme.test', [field]: '/elsewhere' });
      assert.equal(refused.status, 400, JSON.stringify(refused.body));
    }
    assert.deepEqual(test.sink.to('cy@acme.test'), []);
  });

  it('the link opens the continuation path on this server, and its token signs in once', async () => {
    await test.member('di@acme.test', ['acme']);
    const path = '/oauth2/interaction/abc123/magic-link';
    await test.services.identity.magicLinks.request({ email: 'di@acme.test' }, CONTEXT, {
      continuePath: path,
    });
    const token = await linkTo('di@acme.test', path);
    const mail = test.sink.to('di@acme.test')[0];
    assert.match(
      String(mail?.text),
      /https:\/\/tessera\.test\/oauth2\/interaction\/abc123\/magic-link\?token=/,
    );
    const used = await test.services.identity.magicLinks.use(token, CONTEXT);
    assert.ok('access_token' in used.tokens);
    await assert.rejects(test.services.identity.magicLinks.use(token, CONTEXT), {
      code: 'email_token_invalid',
    });
  });

  it('a path only: a URL as continuation is a programming error, and sends nothing', async () => {
    await test.member('el@acme.test', ['acme']);
    for (const continuePath of ['https://evil.example/x', '//evil.example/x']) {
      await assert.rejects(
        test.services.identity.magicLinks.request({ email: 'el@acme.test' }, CONTEXT, {
          continuePath,
        }),
        /continuePath/,
      );
    }
    assert.deepEqual(test.sink.to('el@acme.test'), []);
  });

  it('firstTenant: a member of several tenants naming none gets a link to the first', async () => {
    await test.member('fa@beta.test', ['zeta', 'beta']);
    await test.requestLink({ email: 'fa@beta.test' });
    await test.services.identity.magicLinks.request({ email: 'fa@beta.test' }, CONTEXT, {
      continuePath: '/oauth2/interaction/def456/magic-link',
      firstTenant: true,
    });
    const token = await linkTo('fa@beta.test', '/oauth2/interaction/def456/magic-link');
    // Without it (the JSON API), naming no tenant sends nothing to a user of several.
    assert.equal(test.sink.to('fa@beta.test').length, 1);
    const used = await test.services.identity.magicLinks.use(token, CONTEXT);
    assert.ok('tenant_id' in used.tokens);
    assert.equal(used.tokens.tenant_id, 'beta');
  });
});
