import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * The page a browser test drives passkeys from: plain JavaScript calling the Tessera
 * API and navigator.credentials, the JSON options decoded to ArrayBuffers by hand
 * (no library), and each credential encoded back as PublicKeyCredential.toJSON()
 * would. Served by a tiny server that also proxies `/api/` to Tessera, so the page
 * and the API share one origin, as behind a real reverse proxy.
 */
const PAGE_SCRIPT = String.raw`
const dec = (s) => Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0)).buffer;
const enc = (buffer) => btoa(String.fromCharCode(...new Uint8Array(buffer))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
async function api(path, body, token) {
  const response = await fetch('/api/v1' + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: 'Bearer ' + token } : {}) },
    body: JSON.stringify(body ?? {}),
  });
  return { status: response.status, body: await response.json().catch(() => null) };
}
const descriptors = (list) => (list ?? []).map((c) => ({ ...c, id: dec(c.id) }));
function creationOptions(o) {
  return { ...o, challenge: dec(o.challenge), user: { ...o.user, id: dec(o.user.id) }, excludeCredentials: descriptors(o.excludeCredentials) };
}
function requestOptions(o) {
  return { ...o, challenge: dec(o.challenge), allowCredentials: descriptors(o.allowCredentials) };
}
function credentialJson(credential) {
  const r = credential.response;
  const json = {
    id: credential.id,
    rawId: enc(credential.rawId),
    type: credential.type,
    authenticatorAttachment: credential.authenticatorAttachment ?? undefined,
    clientExtensionResults: credential.getClientExtensionResults(),
    response: { clientDataJSON: enc(r.clientDataJSON) },
  };
  if (r.attestationObject) {
    json.response.attestationObject = enc(r.attestationObject);
    json.response.transports = r.getTransports ? r.getTransports() : [];
  } else {
    json.response.authenticatorData = enc(r.authenticatorData);
    json.response.signature = enc(r.signature);
    if (r.userHandle) json.response.userHandle = enc(r.userHandle);
  }
  return json;
}
window.passkeys = {
  api,
  async passwordLogin(email, password) {
    return api('/auth/login', { email, password });
  },
  async register(token, name) {
    const options = await api('/auth/passkeys/register/options', {}, token);
    if (options.status !== 200) return options;
    const credential = await navigator.credentials.create({ publicKey: creationOptions(options.body) });
    return api('/auth/passkeys/register/verify', { response: credentialJson(credential), name }, token);
  },
  async signIn() {
    const options = await api('/auth/passkeys/login/options');
    if (options.status !== 200) return { answer: options };
    const credential = await navigator.credentials.get({ publicKey: requestOptions(options.body) });
    const response = credentialJson(credential);
    return { answer: await api('/auth/passkeys/login/verify', { response }), response };
  },
  async secondFactor(mfaToken) {
    const options = await api('/auth/mfa/webauthn/options', { mfa_token: mfaToken });
    if (options.status !== 200) return options;
    const credential = await navigator.credentials.get({ publicKey: requestOptions(options.body) });
    return api('/auth/mfa/verify', { mfa_token: mfaToken, method: 'webauthn', response: credentialJson(credential) });
  },
};
document.body.dataset.ready = 'yes';
`;

const PAGE = `<!doctype html><html><head><meta charset="utf-8"><title>passkeys</title></head>
<body><h1>Passkeys</h1><script>${PAGE_SCRIPT}</script></body></html>`;

export interface PasskeyPageServer {
  readonly server: Server;
  readonly port: number;
  close(): Promise<void>;
}

/** Serves the page at `/` and proxies `/api/` to Tessera at 127.0.0.1:`apiPort`. */
export async function servePasskeyPage(apiPort: number): Promise<PasskeyPageServer> {
  const server = createServer((incoming, outgoing) => {
    if (!incoming.url?.startsWith('/api/')) {
      outgoing.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      outgoing.end(PAGE);
      return;
    }
    const forwarded = httpRequest(
      {
        host: '127.0.0.1',
        port: apiPort,
        method: incoming.method,
        path: incoming.url,
        headers: incoming.headers,
      },
      (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
      },
    );
    forwarded.on('error', () => outgoing.destroy());
    incoming.pipe(forwarded);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
