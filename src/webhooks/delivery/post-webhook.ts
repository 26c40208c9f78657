import { promises as dns } from 'node:dns';
import { type Agent, type ClientRequest, request as httpRequest } from 'node:http';
import { type Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { isBlockedAddress } from './blocked-addresses.ts';

export { isBlockedAddress } from './blocked-addresses.ts';

/** One address of a host name, as `dns.lookup` with `{all: true}` gives them. */
export interface Address {
  readonly address: string;
  readonly family: number;
}

export interface WebhookPostOptions {
  /** The whole exchange, from before DNS and connect to the end of the body read. */
  readonly timeoutMs: number;
  /** Keep at most this many bytes of the response body; stop reading there. */
  readonly maxResponseBytes: number;
  /** Development and tests only: skip the address check, to reach local receivers. */
  readonly allowPrivateNetworks: boolean;
  /** DNS resolution, injectable for tests; default: node:dns lookup with {all: true}. */
  readonly lookup?: (hostname: string) => Promise<readonly Address[]>;
  /**
   * Keep-alive pools to take connections from, by protocol; without them each request
   * has a connection of its own. A pooled connection was address-checked when it
   * opened, like every other: reusing it reaches nothing new.
   */
  readonly agents?: { readonly http: Agent; readonly https: HttpsAgent };
}

export type WebhookPostResult =
  | {
      readonly kind: 'response';
      readonly status: number;
      readonly latencyMs: number;
      /** The first maxResponseBytes bytes of the body, as UTF-8: possibly truncated. */
      readonly body: string;
    }
  | {
      readonly kind: 'failed';
      readonly reason: FailureReason;
      readonly latencyMs: number;
      /** One readable line, no stack. */
      readonly error: string;
    };

/** Why no answer came; `signing_secret` is the sender's: it could not sign, so sent nothing. */
export type FailureReason =
  | 'timeout'
  | 'blocked_address'
  | 'dns'
  | 'connection'
  | 'tls'
  | 'invalid_url'
  | 'signing_secret';

const USER_AGENT = 'Tessera-Webhooks/1';

/** Headers that frame the request or name its target: ours to set, never the caller's. */
const OWN_HEADERS = new Set(['host', 'content-length', 'transfer-encoding', 'connection']);

/**
 * Codes of a failed handshake or certificate check: node's ERR_TLS_*, OpenSSL's ERR_SSL_*
 * and its verification codes (CERT_HAS_EXPIRED, UNABLE_TO_GET_ISSUER_CERT_LOCALLY, …).
 */
const TLS_CODE =
  /^(ERR_TLS|CERT_|UNABLE_TO_|ERROR_IN_CERT|DEPTH_ZERO_SELF_SIGNED_CERT$|SELF_SIGNED_CERT_IN_CHAIN$|INVALID_CA$)|SSL/;

/**
 * A failed handshake may come as a bare EPROTO whose message is OpenSSL's error string
 * (`write EPROTO 40CD…:error:0A00010B:SSL routines:…:wrong version number:file:line:`),
 * as when an https URL points at a plain http port: this finds its reason.
 */
const OPENSSL_REASON = /:SSL routines:[^:]*:([^:]+)/;

/** What the address check fails the connect with, to be told apart from other errors. */
class BlockedAddressError extends Error {}

/**
 * Sends one webhook: a POST of `body` to `url`. Always resolves, never throws, and leaves
 * no timer or socket behind.
 *
 * Guards against a tenant's URL reaching what it should not (SSRF):
 * - The address check runs inside the connect, on the very addresses the socket uses, so
 *   a name that resolves to a public address when checked and a private one when used
 *   (DNS rebinding) cannot slip through. A name with any blocked address is refused.
 * - Redirects are never followed (node's http does not): a 3xx is just a response, else a
 *   public URL could send us on to a private one.
 * - Each connection is checked as it opens, pooled or not; a pooled one is reused only
 *   for the same host name and port, whose addresses were checked when it connected.
 * - The response body is read up to `maxResponseBytes`, within the one deadline, so a
 *   huge or endless body costs neither memory nor time.
 */
export function postWebhook(
  url: string,
  headers: Record<string, string>,
  body: string,
  options: WebhookPostOptions,
): Promise<WebhookPostResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  const failed = (reason: FailureReason, error: string): WebhookPostResult => ({
    kind: 'failed',
    reason,
    latencyMs: elapsed(),
    error,
  });

  const target = URL.canParse(url) ? new URL(url) : undefined;
  if (target?.protocol !== 'http:' && target?.protocol !== 'https:') {
    return Promise.resolve(failed('invalid_url', `not an http or https URL: ${url}`));
  }
  // URL keeps the brackets of an IPv6 host ([::1]); node wants the bare address.
  const host = target.hostname.replace(/^\[(.*)\]$/, '$1');
  // Node connects to an IP address without calling `lookup`: check it here.
  if (isIP(host) && !options.allowPrivateNetworks && isBlockedAddress(host)) {
    return Promise.resolve(failed('blocked_address', `blocked address ${host}`));
  }

  const deadline = started + options.timeoutMs;
  const exchangeOptions = { target, host, body, headers: requestHeaders(headers, body), options };
  return exchange(exchangeOptions, options.agents, deadline, elapsed).then((outcome) =>
    // A kept-alive connection the receiver closed just as it was reused fails before
    // any answer (ECONNRESET): the request goes again, once, on a connection of its own
    // within what is left of the deadline (should the first have arrived after all, the
    // same webhook-id tells the receiver).
    outcome.staleConnection && performance.now() < deadline
      ? exchange(exchangeOptions, undefined, deadline, elapsed).then(({ result }) => result)
      : outcome.result,
  );
}

interface Exchange {
  readonly target: URL;
  readonly host: string;
  readonly body: string;
  readonly headers: Record<string, string>;
  readonly options: WebhookPostOptions;
}

/** One request and its answer; `staleConnection` when a reused connection failed before any. */
function exchange(
  { target, host, body, headers, options }: Exchange,
  agents: WebhookPostOptions['agents'],
  deadline: number,
  elapsed: () => number,
): Promise<{ result: WebhookPostResult; staleConnection: boolean }> {
  return new Promise((resolve) => {
    let request: ClientRequest | undefined;
    let settled = false;
    let answered = false;
    let ended = false;
    const settle = (result: WebhookPostResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      // A response read to its end leaves its connection to the pool; anything else
      // (an error, the deadline, a body cut short) leaves no socket behind.
      if (!ended) request?.destroy();
      const staleConnection =
        result.kind === 'failed' &&
        result.reason === 'connection' &&
        !answered &&
        request?.reusedSocket === true;
      resolve({ result, staleConnection });
    };
    const fail = (error: unknown) =>
      settle({
        kind: 'failed',
        reason: reasonFor(error),
        latencyMs: elapsed(),
        error: errorLine(error),
      });
    // One deadline for everything: DNS, connect, TLS, headers, and a body trickled forever.
    const timer = setTimeout(
      () =>
        settle({
          kind: 'failed',
          reason: 'timeout',
          latencyMs: elapsed(),
          error: `no complete response within ${options.timeoutMs} ms`,
        }),
      Math.max(0, deadline - performance.now()),
    );

    try {
      const secure = target.protocol === 'https:';
      request = (secure ? httpsRequest : httpRequest)({
        protocol: target.protocol,
        hostname: host,
        port: target.port || undefined,
        path: `${target.pathname}${target.search}`,
        auth: target.username ? `${decode(target.username)}:${decode(target.password)}` : undefined,
        method: 'POST',
        headers,
        agent: (secure ? agents?.https : agents?.http) ?? false,
        lookup: checkedLookup(options),
      });
    } catch (error) {
      // An invalid header name or value: node refuses it before anything is sent.
      fail(error);
      return;
    }
    request.on('error', fail);
    request.on('close', () => fail(new Error('connection closed before the response ended')));
    request.on('response', (response) => {
      answered = true;
      const latencyMs = elapsed();
      const chunks: Buffer[] = [];
      let size = 0;
      const respond = () => {
        const text = Buffer.concat(chunks).subarray(0, options.maxResponseBytes).toString('utf8');
        settle({ kind: 'response', status: response.statusCode ?? 0, latencyMs, body: text });
      };
      response.on('error', fail);
      response.on('end', () => {
        ended = true;
        respond();
      });
      response.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        size += chunk.length;
        // Enough kept: settling destroys the socket rather than read the rest.
        if (size >= options.maxResponseBytes) respond();
      });
      if (options.maxResponseBytes <= 0) respond();
    });
    request.end(body);
  });
}

/**
 * The `lookup` node calls when it connects: it gets the addresses it asked for, and the
 * connection fails when the name has any blocked address.
 */
function checkedLookup(options: WebhookPostOptions): LookupFunction {
  return (hostname, lookupOptions, callback) => {
    checkedAddresses(hostname, familyNumber(lookupOptions.family), options).then(
      (addresses) => {
        // Node asks for all to try IPv6 and IPv4 in turn (happy eyeballs): all were checked.
        if (lookupOptions.all) callback(null, addresses);
        else callback(null, addresses[0].address, addresses[0].family);
      },
      (error: unknown) => callback(error instanceof Error ? error : new Error(String(error)), ''),
    );
  };
}

/** The addresses of `hostname` of `family` (0: any); refused when any of all is blocked. */
async function checkedAddresses(
  hostname: string,
  family: number,
  options: WebhookPostOptions,
): Promise<[Address, ...Address[]]> {
  const resolveAll = options.lookup ?? ((name: string) => dns.lookup(name, { all: true }));
  const addresses = await resolveAll(hostname);
  const blocked = options.allowPrivateNetworks
    ? undefined
    : addresses.find(({ address }) => isBlockedAddress(address));
  if (blocked) {
    throw new BlockedAddressError(`${hostname} resolves to blocked address ${blocked.address}`);
  }
  const [first, ...rest] = addresses.filter((address) => !family || address.family === family);
  if (!first) throw Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' });
  return [first, ...rest];
}

/** Node's lookup options may name the family the old way, 'IPv4' or 'IPv6'; 0 means any. */
function familyNumber(family: number | 'IPv4' | 'IPv6' | undefined): number {
  if (family === 'IPv4') return 4;
  if (family === 'IPv6') return 6;
  return family ?? 0;
}

function requestHeaders(given: Record<string, string>, body: string): Record<string, string> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': USER_AGENT,
  };
  for (const [name, value] of Object.entries(given)) {
    if (!OWN_HEADERS.has(name.toLowerCase())) headers[name.toLowerCase()] = value;
  }
  headers['content-length'] = String(Buffer.byteLength(body));
  return headers;
}

function reasonFor(error: unknown): FailureReason {
  if (error instanceof BlockedAddressError) return 'blocked_address';
  const code = errorCode(error);
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'dns';
  if (TLS_CODE.test(code)) return 'tls';
  if (error instanceof Error && OPENSSL_REASON.test(error.message)) return 'tls';
  return 'connection';
}

/** One line for the delivery log: node's message (connect ECONNREFUSED 127.0.0.1:1234), with its code. */
function errorLine(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // Trying several addresses fails with an AggregateError whose message may be empty.
  const inner = error instanceof AggregateError ? error.errors.map(errorLine) : [];
  const openssl = OPENSSL_REASON.exec(error.message)?.[1];
  const message = openssl
    ? `TLS handshake failed: ${openssl}`
    : error.message || inner.join('; ') || error.name;
  const code = errorCode(error);
  const line = code && !message.includes(code) ? `${message} (${code})` : message;
  return line.replace(/\s+/g, ' ').trim();
}

function errorCode(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : '';
}

/** A percent-encoded user or password from the URL, as is when it does not decode. */
function decode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}
