import type { Element } from '@xmldom/xmldom';
import { refuse } from './saml-refusals.ts';
import { childElements, NS, parseXml, textOf } from './saml-xml.ts';

const BEARER = 'urn:oasis:names:tc:SAML:2.0:cm:bearer';

/** What Tessera reads from an assertion whose signature node-saml verified. */
export interface SignedAssertion {
  readonly id: string;
  readonly issuer: string;
  readonly nameId: string;
  readonly nameIdFormat: string | undefined;
  readonly sessionIndex: string | undefined;
  readonly authnContextClassRef: string | undefined;
  /** Until when the assertion can be presented at all: the later of its time limits. */
  readonly expiresMs: number;
}

export interface AssertionExpectations {
  readonly idpEntityId: string;
  readonly acsUrl: string;
  /** The AuthnRequest it must answer; null: IdP-initiated, it must answer none. */
  readonly requestId: string | null;
  readonly nowMs: number;
  readonly clockSkewMs: number;
}

/**
 * The checks node-saml leaves to its caller, made on the signed bytes only (node-saml's
 * `getAssertionXml()`, never the unsigned envelope): the assertion's Issuer, and the
 * Web SSO profile's bearer SubjectConfirmation: its Recipient must be our ACS URL, its
 * NotOnOrAfter not passed, its InResponseTo our request. node-saml checks the
 * confirmation's time only when it validates InResponseTo, so IdP-initiated answers
 * depend on this check.
 */
export function checkSignedAssertion(
  signedXml: string,
  expect: AssertionExpectations,
): SignedAssertion {
  const assertion = parseXml(signedXml).documentElement;
  if (
    assertion === null ||
    assertion.namespaceURI !== NS.assertion ||
    assertion.localName !== 'Assertion'
  )
    throw refuse('invalid_response', 'the signed data is not an assertion');
  const id = assertion.getAttribute('ID') ?? '';
  if (id === '') throw refuse('invalid_response', 'the assertion has no ID');
  const issuer = only(assertion, 'Issuer');
  if (issuer === undefined || textOf(issuer) !== expect.idpEntityId)
    throw refuse('issuer_mismatch', `assertion issued by ${issuer ? textOf(issuer) : 'nobody'}`);
  const subject = only(assertion, 'Subject');
  const nameIdElement = subject === undefined ? undefined : only(subject, 'NameID');
  const nameId = nameIdElement === undefined ? '' : textOf(nameIdElement);
  if (nameIdElement === undefined || nameId === '')
    throw refuse('invalid_response', 'the assertion names no subject (NameID)');
  const confirmationExpiry = checkBearerConfirmation(subject as Element, expect);
  const conditions = only(assertion, 'Conditions');
  const conditionsExpiry = timeOf(conditions?.getAttribute('NotOnOrAfter'));
  // Several AuthnStatements are allowed; the first one describes the sign-in.
  const [authnStatement] = childElements(assertion, NS.assertion, 'AuthnStatement');
  const [authnContext] = authnStatement
    ? childElements(authnStatement, NS.assertion, 'AuthnContext')
    : [];
  const [classRef] = authnContext
    ? childElements(authnContext, NS.assertion, 'AuthnContextClassRef')
    : [];
  return {
    id,
    issuer: expect.idpEntityId,
    nameId,
    nameIdFormat: nameIdElement.getAttribute('Format') ?? undefined,
    sessionIndex: authnStatement?.getAttribute('SessionIndex') || undefined,
    authnContextClassRef: classRef ? textOf(classRef) : undefined,
    expiresMs: Math.max(confirmationExpiry, conditionsExpiry ?? 0) + expect.clockSkewMs,
  };
}

/** Finds the bearer confirmation meant for us; answers its NotOnOrAfter. */
function checkBearerConfirmation(subject: Element, expect: AssertionExpectations): number {
  const bearers = childElements(subject, NS.assertion, 'SubjectConfirmation')
    .filter((confirmation) => confirmation.getAttribute('Method') === BEARER)
    .map((confirmation) => only(confirmation, 'SubjectConfirmationData'))
    .filter((data): data is Element => data !== undefined);
  if (bearers.length === 0) throw refuse('invalid_response', 'no bearer SubjectConfirmation');
  const ours = bearers.filter((data) => data.getAttribute('Recipient') === expect.acsUrl);
  if (ours.length === 0)
    throw refuse(
      'recipient_mismatch',
      `assertion meant for ${bearers[0]?.getAttribute('Recipient') ?? 'nobody'}`,
    );
  // The profile requires NotOnOrAfter on a bearer confirmation: without one an assertion
  // would be valid forever, and its id could never leave the replay cache.
  const current = ours.filter((data) => {
    const until = timeOf(data.getAttribute('NotOnOrAfter'));
    return until !== undefined && expect.nowMs - expect.clockSkewMs < until;
  });
  if (current.length === 0)
    throw refuse('expired', 'the subject confirmation expired (or has no NotOnOrAfter)');
  const answering = current.find((data) => {
    const inResponseTo = data.getAttribute('InResponseTo') || null;
    return inResponseTo === expect.requestId;
  });
  if (answering === undefined)
    throw refuse('in_response_to_mismatch', 'the subject confirmation answers another request');
  return timeOf(answering.getAttribute('NotOnOrAfter')) as number;
}

/** The only child of that name in the assertion namespace; two is a malformed assertion. */
function only(parent: Element, localName: string): Element | undefined {
  const found = childElements(parent, NS.assertion, localName);
  if (found.length > 1) throw refuse('invalid_response', `more than one ${localName}`);
  return found[0];
}

function timeOf(value: string | null | undefined): number | undefined {
  if (value === null || value === undefined || value === '') return undefined;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw refuse('malformed', `not a time: ${value}`);
  return ms;
}
