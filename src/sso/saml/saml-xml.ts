import { DOMParser, type Document, type Element, onErrorStopParsing } from '@xmldom/xmldom';

export const NS = Object.freeze({
  protocol: 'urn:oasis:names:tc:SAML:2.0:protocol',
  assertion: 'urn:oasis:names:tc:SAML:2.0:assertion',
  metadata: 'urn:oasis:names:tc:SAML:2.0:metadata',
  dsig: 'http://www.w3.org/2000/09/xmldsig#',
});

export const HTTP_REDIRECT_BINDING = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect';
export const HTTP_POST_BINDING = 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST';

/**
 * Any markup declaration: `<!DOCTYPE`, `<!ENTITY`, `<!ELEMENT`, `<!ATTLIST`... Comments
 * and CDATA sections are the only `<!` constructs SAML messages may carry. No SAML
 * message needs a DTD, and a DTD is how XXE and entity-expansion ("billion laughs")
 * attacks arrive, so such a document is refused before any parser sees it.
 */
const DECLARATION = /<!(?!--|\[CDATA\[)/;

export function hasMarkupDeclaration(xml: string): boolean {
  return DECLARATION.test(xml);
}

/** Thrown for XML that is refused before (DTD) or while parsing (not well-formed). */
export class UnsafeOrMalformedXml extends Error {}

/** Parses a document after refusing any DTD; stops at the first well-formedness error. */
export function parseXml(xml: string): Document {
  if (hasMarkupDeclaration(xml))
    throw new UnsafeOrMalformedXml('DTD or entity declarations are refused');
  try {
    return new DOMParser({ onError: onErrorStopParsing }).parseFromString(xml, 'text/xml');
  } catch (error) {
    throw new UnsafeOrMalformedXml(`not well-formed XML: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/** The element children of `parent` with this namespace and local name. */
export function childElements(
  parent: Element | Document,
  ns: string,
  localName: string,
): Element[] {
  const found: Element[] = [];
  for (let node = parent.firstChild; node !== null; node = node.nextSibling) {
    if (node.nodeType !== node.ELEMENT_NODE) continue;
    const element = node as Element;
    if (element.namespaceURI === ns && element.localName === localName) found.push(element);
  }
  return found;
}

/** The trimmed text of an element. */
export function textOf(element: Element): string {
  return (element.textContent ?? '').trim();
}
