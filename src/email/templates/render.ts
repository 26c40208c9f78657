import { Liquid } from 'liquidjs';
import type { Branding } from './branding.ts';
import type { TemplateParts } from './default-templates.ts';
import { type EmailKind, KIND_VARIABLES, variableNames } from './kinds.ts';

/** A rendered message, ready for the outbox. */
export interface RenderedEmail {
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}

/**
 * Liquid (liquidjs), chosen because it was made for templates written by people who
 * must not run code: no JavaScript, own properties only, and bounded parse and render
 * work. Templates may include nothing (`templates: {}` is an empty in-memory file
 * system, so `{% include %}` and `{% render %}` cannot read the server's files). HTML
 * parts escape every output; subject and text do not (they are not HTML).
 */
const shared = {
  templates: {},
  strictVariables: true,
  strictFilters: true,
  ownPropertyOnly: true,
  parseLimit: 200_000,
  renderLimit: 1000,
  memoryLimit: 10_000_000,
} as const;
const plain = new Liquid(shared);
const html = new Liquid({ ...shared, outputEscape: 'escape' });

/** The variables a template of `kind` sees: branding, recipient, then the kind's own. */
export function variablesFor(
  kind: EmailKind,
  branding: Branding,
  values: Readonly<Record<string, string>>,
): Record<string, string> {
  const known = variableNames(kind);
  const scope: Record<string, string> = {};
  for (const name of known) scope[name] = '';
  Object.assign(scope, branding);
  for (const [name, value] of Object.entries(values)) {
    if (known.includes(name)) scope[name] = value;
  }
  return scope;
}

export async function renderParts(
  parts: TemplateParts,
  scope: Record<string, string>,
): Promise<RenderedEmail> {
  const [subject, text, body] = await Promise.all([
    plain.parseAndRender(parts.subject, scope),
    plain.parseAndRender(parts.text, scope),
    html.parseAndRender(parts.html, scope),
  ]);
  // A subject is one header line: a newline in it would start another header.
  return { subject: subject.replace(/\s+/g, ' ').trim(), text, html: body };
}

/** Which part failed and why, for a template refused on save. */
export interface TemplateProblem {
  readonly part: keyof TemplateParts;
  readonly message: string;
}

/** The values a template is checked and previewed with: the kind's samples, the tenant's branding. */
export function sampleScope(kind: EmailKind, branding: Branding): Record<string, string> {
  return variablesFor(kind, branding, {
    recipient: 'ada@example.com',
    name: 'Ada',
    tenant_name: 'Acme',
    ...KIND_VARIABLES[kind],
  });
}

/**
 * Checks a tenant's templates by rendering each part with sample values for `kind`:
 * a syntax error, an unknown variable or filter, or too much work is a problem.
 */
export async function checkTemplate(
  kind: EmailKind,
  parts: TemplateParts,
  branding: Branding,
): Promise<TemplateProblem[]> {
  const scope = sampleScope(kind, branding);
  const problems: TemplateProblem[] = [];
  for (const part of ['subject', 'text', 'html'] as const) {
    const engine = part === 'html' ? html : plain;
    try {
      await engine.parseAndRender(parts[part], scope);
    } catch (error) {
      problems.push({ part, message: (error as Error).message.split('\n')[0] ?? 'invalid' });
    }
  }
  return problems;
}
