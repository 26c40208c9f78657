/**
 * TEST TOOL ONLY: a SAML 2.0 identity provider for Tessera's tests. It signs real
 * responses (xml-crypto, RSA-SHA256, exclusive c14n) with the test-only keys under
 * test/fixtures/saml/, answers the HTTP-Redirect binding on a real node:http server, and
 * can forge every kind of bad answer (unsigned, wrong key, wrapped, expired, wrong
 * audience, DTD...) for the negative tests. It trusts every request and checks nothing:
 * never use it outside tests.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inflateRawSync } from 'node:zlib';
import { DOMParser } from '@xmldom/xmldom';
import {
  ASSERTION_NS,
  type BuildResponseOptions,
  buildSamlResponse,
  escapeXml,
  NAMEID_EMAIL,
  PROTOCOL_NS,
  type SamlIdpUser,
  type SamlSp,
  type SamlTestKey,
  samlTestCertificate,
} from './saml-idp-response.ts';

export {
  type BuildResponseOptions,
  NAMEID_EMAIL,
  NAMEID_PERSISTENT,
  type SamlIdpUser,
  type SamlSp,
  type SamlTestKey,
  STATUS_SUCCESS,
  samlTestCertificate,
} from './saml-idp-response.ts';

export interface SeenAuthnRequest {
  readonly id: string;
  readonly issuer: string;
  readonly acsUrl: string;
  readonly relayState: string | undefined;
}

export interface SamlIdp {
  readonly entityId: string;
  /** The HTTP-Redirect SSO endpoint. */
  readonly ssoUrl: string;
  /** The certificate of the key the IdP signs with by default. */
  readonly certificate: string;
  /** Who signs in next through /sso. */
  user: SamlIdpUser;
  /** How /sso signs its answers (default 'assertion'). */
  sign: 'assertion' | 'response' | 'both';
  /** The key /sso signs with (default 'idp'; 'rotated' after a rotation). */
  key: SamlTestKey;
  /** Whether the /sso page submits itself (default true); false leaves the Continue button to click. */
  autoSubmit: boolean;
  /** The SP buildResponse answers by default, when its options name none. */
  sp: SamlSp | undefined;
  /** Every AuthnRequest /sso received, oldest first. */
  readonly requests: SeenAuthnRequest[];
  metadata(): string;
  /** A base64 SAMLResponse, as a browser would POST it. */
  buildResponse(options: BuildResponseOptions): string;
  close(): Promise<void>;
}

export interface SamlIdpOptions {
  readonly entityId?: string;
  readonly user?: SamlIdpUser;
  readonly sp?: SamlSp;
}

/** Starts the test IdP on 127.0.0.1, an ephemeral port. */
export async function startSamlIdp(options: SamlIdpOptions = {}): Promise<SamlIdp> {
  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`test IdP failure: ${(error as Error).message}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const base = `http://127.0.0.1:${port}`;
  const entityId = options.entityId ?? `${base}/metadata`;

  const idp: SamlIdp = {
    entityId,
    ssoUrl: `${base}/sso`,
    certificate: samlTestCertificate('idp'),
    user: options.user ?? {
      nameId: 'ada@example.test',
      nameIdFormat: NAMEID_EMAIL,
      attributes: { email: 'ada@example.test', name: 'Ada Lovelace', groups: ['engineering'] },
    },
    sign: 'assertion',
    key: 'idp',
    autoSubmit: true,
    sp: options.sp,
    requests: [],
    metadata: () => idpMetadata(entityId, `${base}/sso`, samlTestCertificate('idp')),
    buildResponse: (build) => buildSamlResponse(idp, build),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', base);
    if (req.method === 'GET' && url.pathname === '/metadata') {
      res.writeHead(200, { 'content-type': 'application/samlmetadata+xml' });
      res.end(idp.metadata());
      return;
    }
    if (req.method !== 'GET' || url.pathname !== '/sso') {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end('not found');
      return;
    }
    const encoded = url.searchParams.get('SAMLRequest');
    if (encoded === null) {
      res.writeHead(400, { 'content-type': 'text/plain' });
      res.end('SAMLRequest missing');
      return;
    }
    const relayState = url.searchParams.get('RelayState') ?? undefined;
    const request = readAuthnRequest(encoded, relayState);
    idp.requests.push(request);
    const samlResponse = buildSamlResponse(idp, {
      sp: { entityId: request.issuer, acsUrl: request.acsUrl },
      inResponseTo: request.id,
      sign: idp.sign,
      key: idp.key,
    });
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(postForm(request.acsUrl, samlResponse, relayState, idp.autoSubmit));
  }

  return idp;
}

/** HTTP-Redirect binding: base64 of the raw-deflated AuthnRequest. */
function readAuthnRequest(encoded: string, relayState: string | undefined): SeenAuthnRequest {
  const xml = inflateRawSync(Buffer.from(encoded, 'base64')).toString('utf8');
  const root = new DOMParser().parseFromString(xml, 'text/xml').documentElement;
  if (root === null || root.localName !== 'AuthnRequest' || root.namespaceURI !== PROTOCOL_NS)
    throw new Error('not an AuthnRequest');
  const issuer = root.getElementsByTagNameNS(ASSERTION_NS, 'Issuer')[0]?.textContent?.trim();
  const acsUrl = root.getAttribute('AssertionConsumerServiceURL');
  const id = root.getAttribute('ID');
  if (!issuer || !acsUrl || !id) throw new Error('AuthnRequest without ID, Issuer or ACS URL');
  return { id, issuer, acsUrl, relayState };
}

function postForm(
  acsUrl: string,
  samlResponse: string,
  relayState: string | undefined,
  autoSubmit: boolean,
): string {
  const relay =
    relayState === undefined
      ? ''
      : `<input type="hidden" name="RelayState" value="${escapeXml(relayState)}">`;
  const script = autoSubmit ? '<script>document.forms[0].submit();</script>' : '';
  return `<!doctype html><html><head><title>Test IdP</title></head><body>
<form method="post" action="${escapeXml(acsUrl)}">
<input type="hidden" name="SAMLResponse" value="${escapeXml(samlResponse)}">${relay}
<button type="submit" id="continue">Continue</button>
</form>${script}</body></html>`;
}

function idpMetadata(entityId: string, ssoUrl: string, certificate: string): string {
  const body = certificate.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  return `<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="${escapeXml(entityId)}">
  <md:IDPSSODescriptor WantAuthnRequestsSigned="false" protocolSupportEnumeration="${PROTOCOL_NS}">
    <md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${body}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:NameIDFormat>${NAMEID_EMAIL}</md:NameIDFormat>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="${escapeXml(ssoUrl)}"/>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="${escapeXml(ssoUrl)}"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>`;
}
