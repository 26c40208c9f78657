import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { describe, it, type TestContext } from 'node:test';
import { ADMIN, ADMIN_ENV, CHILD_DEADLINE_MS, spawnServer, tempDir } from '../helpers/cli.ts';
import { startSmtpSink, tokenFrom } from '../helpers/smtp-sink.ts';
import { testEngines, testStorageConfig } from '../helpers/test-database.ts';
import { until } from '../helpers/until.ts';

/**
 * An acknowledged email is never lost: the server is killed with SIGKILL after the
 * request that queued a message committed and while the message was being sent (the
 * SMTP server had accepted the connection and said nothing yet). After a restart the
 * message is delivered, and its link works.
 */

/** A TCP server that accepts connections and never answers: an SMTP server that hangs. */
async function silentServer(t: TestContext) {
  const sockets: Socket[] = [];
  const server = createServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    for (const socket of sockets) socket.destroy();
    server.close();
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return { port: address.port, connections: () => sockets.length };
}

for (const engine of testEngines()) {
  describe(`email outbox across a crash (${engine})`, () => {
    it('delivers after a restart what was committed before the kill', {
      timeout: 3 * CHILD_DEADLINE_MS,
    }, async (t) => {
      const env: Record<string, string> = {
        ...ADMIN_ENV,
        TESSERA_DATA_DIR: tempDir(),
        TESSERA_EMAIL_TRANSPORT: 'smtp',
        // The first attempt hangs until the kill; the lease then runs out in a second.
        TESSERA_EMAIL_SMTP_TIMEOUT_MS: '600000',
        TESSERA_EMAIL_LEASE_MS: '1000',
        TESSERA_EMAIL_POLL_INTERVAL_MS: '50',
        TESSERA_EMAIL_RETRY_BASE_MS: '10',
      };
      if (engine === 'postgres') {
        const database = await testStorageConfig('postgres');
        t.after(() => database.cleanup());
        env.TESSERA_DATABASE_URL = database.storage.database_url;
      }
      const silent = await silentServer(t);
      const first = await spawnServer({
        ...env,
        TESSERA_EMAIL_SMTP_URL: `smtp://127.0.0.1:${silent.port}`,
      });
      t.after(() => first.child.kill('SIGKILL'));
      const asked = await fetch(`${first.baseUrl}/api/v1/auth/password/forgot`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: ADMIN.email }),
      });
      assert.equal(asked.status, 202);
      // The sender claimed the message and is waiting for the SMTP greeting.
      await until(() => silent.connections() > 0, 'the sender connects to the SMTP server');
      first.child.kill('SIGKILL');
      assert.equal(await first.exited, 'SIGKILL');

      const sink = await startSmtpSink();
      t.after(() => sink.close());
      const second = await spawnServer({ ...env, TESSERA_EMAIL_SMTP_URL: sink.url });
      t.after(() => second.child.kill('SIGKILL'));
      const mail = await sink.waitFor(ADMIN.email, 'reset_password');
      const reset = await fetch(`${second.baseUrl}/api/v1/auth/password/reset`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          token: tokenFrom(mail, '/auth/password/reset'),
          new_password: 'a brand new passphrase',
        }),
      });
      assert.equal(reset.status, 204);
      assert.equal(sink.to(ADMIN.email).length, 1);
    });
  });
}
