import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import { createServer as createHttpsServer, Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { describe, it, type TestContext } from 'node:test';
import { keepAliveAgents } from './courier.ts';
import { postWebhook, type WebhookPostOptions, type WebhookPostResult } from './post-webhook.ts';

/** What the tests send to local receivers: the address check off, as in development. */
const LOCAL: WebhookPostOptions = {
  timeoutMs: 10_000,
  maxResponseBytes: 2048,
  allowPrivateNetworks: true,
};
/** What production sends with. */
const GUARDED: WebhookPostOptions = { ...LOCAL, allowPrivateNetworks: false };

const PAYLOAD = '{"type":"user.created","data":{"id":"u_1"}}';

interface ReceivedRequest {
  readonly method: string | undefined;
  readonly url: string | undefined;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

interface Receiver {
  readonly port: number;
  readonly url: string;
  readonly requests: ReceivedRequest[];
  /** TCP connections accepted, whether or not a request came. */
  connections: number;
}

type Answer = (request: IncomingMessage, response: ServerResponse) => void;

/**
 * A real HTTP server on 127.0.0.1 (any port) that records every request it receives,
 * then answers with `answer` (default: 200 "ok"). Closed when the test ends.
 */
async function receiver(
  t: TestContext,
  answer: Answer = (_request, response) => response.end('ok'),
  make: (listener: Answer) => Server | HttpsServer = (listener) => createServer(listener),
): Promise<Receiver> {
  const requests: ReceivedRequest[] = [];
  const server = make((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const { method, url, headers } = request;
      requests.push({ method, url, headers, body: Buffer.concat(chunks).toString('utf8') });
      answer(request, response);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const { port } = server.address() as AddressInfo;
  const protocol = server instanceof HttpsServer ? 'https' : 'http';
  const received: Receiver = {
    port,
    url: `${protocol}://127.0.0.1:${port}`,
    requests,
    connections: 0,
  };
  server.on('connection', () => {
    received.connections++;
  });
  return received;
}

/** The result, which must be a failure: its reason and error line. */
function failure(result: WebhookPostResult) {
  assert.equal(result.kind, 'failed', `expected a failure, got ${JSON.stringify(result)}`);
  return result;
}

/** The result, which must be a response. */
function response(result: WebhookPostResult) {
  assert.equal(result.kind, 'response', `expected a response, got ${JSON.stringify(result)}`);
  return result;
}

describe('postWebhook', () => {
  it('POSTs the body with the headers given and its own, and returns status, latency and body', async (t) => {
    const hooks = await receiver(t, (_request, res) => res.writeHead(202).end('{"queued":true}'));
    const result = response(
      await postWebhook(
        `${hooks.url}/hooks/in?team=7`,
        {
          'webhook-id': 'msg_1',
          'webhook-timestamp': '1700000000',
          'webhook-signature': 'v1,c2lnbmF0dXJl',
        },
        PAYLOAD,
        LOCAL,
      ),
    );
    assert.equal(result.status, 202);
    assert.equal(result.body, '{"queued":true}');
    assert.ok(Number.isInteger(result.latencyMs) && result.latencyMs >= 0);

    assert.equal(hooks.requests.length, 1);
    const [received] = hooks.requests;
    assert.equal(received?.method, 'POST');
    assert.equal(received?.url, '/hooks/in?team=7');
    assert.equal(received?.body, PAYLOAD);
    assert.equal(received?.headers['content-type'], 'application/json');
    assert.equal(received?.headers['content-length'], String(Buffer.byteLength(PAYLOAD)));
    assert.equal(received?.headers['user-agent'], 'Tessera-Webhooks/1');
    assert.equal(received?.headers['webhook-id'], 'msg_1');
    assert.equal(received?.headers['webhook-timestamp'], '1700000000');
    assert.equal(received?.headers['webhook-signature'], 'v1,c2lnbmF0dXJl');
  });

  it('keeps the caller’s user-agent and content-type, but sets the framing headers itself', async (t) => {
    const hooks = await receiver(t);
    const body = '{"name":"Zoë"}';
    response(
      await postWebhook(
        hooks.url,
        {
          'User-Agent': 'Custom/2',
          'Content-Type': 'application/cloudevents+json',
          'Content-Length': '1',
          Host: 'internal.example',
        },
        body,
        LOCAL,
      ),
    );
    const headers = hooks.requests[0]?.headers;
    assert.equal(headers?.['user-agent'], 'Custom/2');
    assert.equal(headers?.['content-type'], 'application/cloudevents+json');
    assert.equal(headers?.['content-length'], String(Buffer.byteLength(body)));
    assert.equal(headers?.host, `127.0.0.1:${hooks.port}`);
    assert.equal(hooks.requests[0]?.body, body);
  });

  it('resolves a host name when it connects, with the lookup given', async (t) => {
    const hooks = await receiver(t);
    const asked: string[] = [];
    const lookup = async (hostname: string) => {
      asked.push(hostname);
      return [{ address: '127.0.0.1', family: 4 }];
    };
    const result = response(
      await postWebhook(`http://hooks.test:${hooks.port}/`, {}, PAYLOAD, { ...LOCAL, lookup }),
    );
    assert.equal(result.status, 200);
    assert.deepEqual(asked, ['hooks.test']);
    assert.equal(hooks.requests[0]?.headers.host, `hooks.test:${hooks.port}`);
  });

  it('clears its deadline with the result, leaving no timer running', async (t) => {
    const hooks = await receiver(t);
    const set = t.mock.method(globalThis, 'setTimeout');
    const clear = t.mock.method(globalThis, 'clearTimeout');
    response(await postWebhook(hooks.url, {}, PAYLOAD, LOCAL));
    const deadlines = set.mock.calls.map((call) => call.result);
    assert.equal(deadlines.length, 1);
    assert.deepEqual(
      clear.mock.calls.map((call) => call.arguments[0]),
      deadlines,
    );
  });

  it('opens a connection of its own for each request, never a pooled one', async (t) => {
    const hooks = await receiver(t);
    response(await postWebhook(hooks.url, {}, PAYLOAD, LOCAL));
    response(await postWebhook(hooks.url, {}, PAYLOAD, LOCAL));
    assert.equal(hooks.requests.length, 2);
    assert.equal(hooks.connections, 2);
  });
});

describe('postWebhook over keep-alive pools', () => {
  it('sends one request after another over one connection', async (t) => {
    const hooks = await receiver(t);
    const agents = keepAliveAgents();
    t.after(() => agents.http.destroy());
    for (let n = 0; n < 3; n++) {
      assert.equal(
        response(await postWebhook(hooks.url, {}, PAYLOAD, { ...LOCAL, agents })).status,
        200,
      );
    }
    assert.equal(hooks.requests.length, 3);
    assert.equal(hooks.connections, 1);
  });

  it('leaves no connection to the pool when it stopped reading a body', async (t) => {
    const hooks = await receiver(t, (_request, res) => res.end('x'.repeat(100_000)));
    const agents = keepAliveAgents();
    t.after(() => agents.http.destroy());
    const options = { ...LOCAL, agents, maxResponseBytes: 10 };
    assert.equal(response(await postWebhook(hooks.url, {}, PAYLOAD, options)).body, 'xxxxxxxxxx');
    response(await postWebhook(hooks.url, {}, PAYLOAD, options));
    assert.equal(hooks.connections, 2);
  });

  it('sends again, once, on a new connection when a reused one dies before any answer', async (t) => {
    // The receiver closes a kept-alive connection as the second request on it arrives:
    // the race of a server's idle timeout with a client reusing the connection.
    const perSocket = new WeakMap<object, number>();
    const hooks = await receiver(t, (request, res) => {
      const seen = (perSocket.get(request.socket) ?? 0) + 1;
      perSocket.set(request.socket, seen);
      if (seen === 2) request.socket.destroy();
      else res.end('ok');
    });
    const agents = keepAliveAgents();
    t.after(() => agents.http.destroy());
    response(await postWebhook(hooks.url, {}, PAYLOAD, { ...LOCAL, agents }));
    const again = response(await postWebhook(hooks.url, {}, PAYLOAD, { ...LOCAL, agents }));
    assert.equal(again.status, 200);
    assert.equal(hooks.requests.length, 3, 'the first, the one cut off, and its resend');
    assert.equal(hooks.connections, 2);
  });

  it('does not send again when a connection of its own dies before any answer', async (t) => {
    const hooks = await receiver(t, (request) => request.socket.destroy());
    const result = failure(await postWebhook(hooks.url, {}, PAYLOAD, LOCAL));
    assert.equal(result.reason, 'connection');
    assert.equal(hooks.requests.length, 1);
  });
});

describe('postWebhook refuses what is not a public address', () => {
  /** A lookup that fails the test if called: the address is refused before any DNS. */
  const noLookup = async (hostname: string): Promise<never> => {
    throw new Error(`looked up ${hostname}`);
  };

  it('refuses a loopback IP address, without connecting', async (t) => {
    const hooks = await receiver(t);
    const result = failure(await postWebhook(`${hooks.url}/`, {}, PAYLOAD, GUARDED));
    assert.equal(result.reason, 'blocked_address');
    assert.match(result.error, /127\.0\.0\.1/);
    assert.equal(hooks.connections, 0);
    assert.equal(hooks.requests.length, 0);
  });

  it('refuses the cloud metadata service, without any network', async () => {
    const result = failure(
      await postWebhook('http://169.254.169.254/latest/meta-data', {}, PAYLOAD, {
        ...GUARDED,
        lookup: noLookup,
      }),
    );
    assert.equal(result.reason, 'blocked_address');
    assert.match(result.error, /169\.254\.169\.254/);
  });

  it('refuses IPv6 loopback', async (t) => {
    const hooks = await receiver(t);
    const result = failure(await postWebhook(`http://[::1]:${hooks.port}/`, {}, PAYLOAD, GUARDED));
    assert.equal(result.reason, 'blocked_address');
    assert.match(result.error, /::1/);
  });

  it('refuses loopback written as an IPv4-mapped IPv6 address, without connecting', async (t) => {
    const hooks = await receiver(t);
    const result = failure(
      await postWebhook(`http://[::ffff:127.0.0.1]:${hooks.port}/`, {}, PAYLOAD, GUARDED),
    );
    assert.equal(result.reason, 'blocked_address');
    assert.equal(hooks.connections, 0);
  });

  it('refuses a name that resolves to a private address', async () => {
    const lookup = async () => [{ address: '10.0.0.5', family: 4 }];
    const result = failure(
      await postWebhook('https://hooks.example.com/in', {}, PAYLOAD, { ...GUARDED, lookup }),
    );
    assert.equal(result.reason, 'blocked_address');
    assert.match(result.error, /hooks\.example\.com .*10\.0\.0\.5/);
  });

  it('refuses a name when any one of its addresses is private', async () => {
    const lookup = async () => [
      { address: '93.184.215.14', family: 4 },
      { address: '10.0.0.5', family: 4 },
    ];
    const result = failure(
      await postWebhook('https://hooks.example.com/in', {}, PAYLOAD, { ...GUARDED, lookup }),
    );
    assert.equal(result.reason, 'blocked_address');
    assert.match(result.error, /10\.0\.0\.5/);
  });

  it('refuses localhost, resolved by the system, without connecting', async (t) => {
    const hooks = await receiver(t);
    const result = failure(
      await postWebhook(`http://localhost:${hooks.port}/`, {}, PAYLOAD, GUARDED),
    );
    assert.equal(result.reason, 'blocked_address');
    assert.match(result.error, /localhost resolves to blocked address (127\.0\.0\.1|::1)/);
    assert.equal(hooks.connections, 0);
  });
});

describe('postWebhook stays within its bounds', () => {
  it('returns a redirect as it is, without following it', async (t) => {
    const elsewhere = await receiver(t);
    const hooks = await receiver(t, (_request, res) =>
      res.writeHead(302, { location: `${elsewhere.url}/admin` }).end(),
    );
    const result = response(await postWebhook(hooks.url, {}, PAYLOAD, LOCAL));
    assert.equal(result.status, 302);
    assert.equal(hooks.requests.length, 1);
    assert.equal(elsewhere.connections, 0);
    assert.equal(elsewhere.requests.length, 0);
  });

  it('gives up on a server that never answers, at the deadline', async (t) => {
    const hooks = await receiver(t, () => {});
    const result = failure(await postWebhook(hooks.url, {}, PAYLOAD, { ...LOCAL, timeoutMs: 200 }));
    assert.equal(result.reason, 'timeout');
    assert.match(result.error, /200 ms/);
    assert.equal(hooks.requests.length, 1);
  });

  it('gives up on a body trickled forever, at the same deadline', async (t) => {
    const hooks = await receiver(t, (_request, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const drip = setInterval(() => res.write('.'), 20);
      res.on('close', () => clearInterval(drip));
    });
    const result = failure(await postWebhook(hooks.url, {}, PAYLOAD, { ...LOCAL, timeoutMs: 300 }));
    assert.equal(result.reason, 'timeout');
  });

  it('keeps the first maxResponseBytes of a huge body and does not wait for its end', async (t) => {
    // 1 MB and never ended: waiting for the end would run into the deadline.
    const hooks = await receiver(t, (_request, res) => {
      res.writeHead(200);
      res.write(Buffer.alloc(1024 * 1024, 'a'));
    });
    const result = response(await postWebhook(hooks.url, {}, PAYLOAD, LOCAL));
    assert.equal(result.status, 200);
    assert.equal(result.body, 'a'.repeat(LOCAL.maxResponseBytes));
  });
});

describe('postWebhook reports why it failed', () => {
  it('says connection when nothing listens', async () => {
    // Take a port, then free it: nothing listens there now.
    const taken = createServer();
    taken.listen(0, '127.0.0.1');
    await once(taken, 'listening');
    const deadPort = (taken.address() as AddressInfo).port;
    await new Promise<void>((resolve) => taken.close(() => resolve()));

    const result = failure(await postWebhook(`http://127.0.0.1:${deadPort}/`, {}, PAYLOAD, LOCAL));
    assert.equal(result.reason, 'connection');
    assert.equal(result.error, `connect ECONNREFUSED 127.0.0.1:${deadPort}`);
  });

  it('says invalid_url for anything but an http or https URL', async () => {
    for (const url of ['ftp://x', 'file:///etc/passwd', 'not a url', 'gopher://127.0.0.1:70/']) {
      const result = failure(await postWebhook(url, {}, PAYLOAD, GUARDED));
      assert.equal(result.reason, 'invalid_url', url);
    }
  });

  it('says dns when the name does not resolve', async () => {
    const notFound = async (hostname: string): Promise<never> => {
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    };
    const nothing = async () => [];
    for (const lookup of [notFound, nothing]) {
      const result = failure(
        await postWebhook('https://gone.example.com/', {}, PAYLOAD, { ...GUARDED, lookup }),
      );
      assert.equal(result.reason, 'dns');
      assert.match(result.error, /gone\.example\.com/);
    }
  });

  it('says tls for a certificate nobody vouches for, and sends nothing', async (t) => {
    // A self-signed test certificate the repository already has (node cannot make one).
    const fixtures = new URL('../../../test/fixtures/saml/', import.meta.url);
    const tls = {
      key: readFileSync(new URL('idp-key.pem', fixtures)),
      cert: readFileSync(new URL('idp-cert.pem', fixtures)),
    };
    const hooks = await receiver(t, undefined, (listener) => createHttpsServer(tls, listener));
    const result = failure(await postWebhook(hooks.url, {}, PAYLOAD, LOCAL));
    assert.equal(result.reason, 'tls');
    assert.match(result.error, /self-signed certificate/);
    assert.equal(hooks.requests.length, 0);
  });

  it('says tls when an https URL points at a plain http server', async (t) => {
    const hooks = await receiver(t);
    const result = failure(
      await postWebhook(`https://127.0.0.1:${hooks.port}/`, {}, PAYLOAD, LOCAL),
    );
    assert.equal(result.reason, 'tls');
    assert.doesNotMatch(result.error, /\n|openssl\//);
  });
});
