import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { actorOf } from '../../access/actor.ts';
import type { Principal } from '../../access/principal.ts';
import { EMAIL_KINDS } from '../templates/kinds.ts';
import {
  BODY_MAX_BYTES,
  type EmailSettingsService,
  SUBJECT_MAX_LENGTH,
  type TemplateView,
} from './email-settings-service.ts';

export interface EmailSettingsRoutesOptions {
  readonly settings: EmailSettingsService;
}

const tags = ['email'];

const BrandingSchema = Type.Object(
  {
    // No leading or trailing whitespace and no line breaks: it goes into subjects.
    product_name: Type.String({ minLength: 1, maxLength: 100, pattern: '^\\S(?:.*\\S)?$' }),
    logo_url: Type.String({
      maxLength: 2000,
      description: 'Empty, or an https URL of an image shown at the top of HTML emails.',
    }),
    color: Type.String({
      pattern: '^#[0-9a-fA-F]{6}$',
      description: 'The accent colour of HTML emails, #rrggbb.',
    }),
    support_email: Type.String({
      maxLength: 254,
      pattern: '^(|[^\\s@]{1,64}@[^\\s@]+)$',
      description: 'Empty, or the address emails tell recipients to write to.',
    }),
  },
  { additionalProperties: false },
);

// The schema bounds text by characters; the service counts the bytes of UTF-8.
const Parts = Type.Object(
  {
    subject: Type.String({ minLength: 1, maxLength: SUBJECT_MAX_LENGTH }),
    text: Type.String({
      minLength: 1,
      maxLength: BODY_MAX_BYTES,
      description: 'The plain text part (Liquid); at most 100 KB.',
    }),
    html: Type.String({
      minLength: 1,
      maxLength: BODY_MAX_BYTES,
      description: 'The HTML part (Liquid; every output is HTML-escaped); at most 100 KB.',
    }),
  },
  { additionalProperties: false },
);

const TemplateSchema = Type.Object({
  kind: Type.String(),
  subject: Type.String(),
  text: Type.String(),
  html: Type.String(),
  custom: Type.Boolean({ description: 'The tenant’s own template; false: the default.' }),
  variables: Type.Array(Type.String(), { description: 'The variables the template may use.' }),
  updated_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
});

// Any string, so that an unknown kind is 404 template_not_found rather than a schema error.
const KindParams = Type.Object({
  kind: Type.String({
    minLength: 1,
    maxLength: 64,
    description: `One of ${EMAIL_KINDS.join(', ')}.`,
  }),
});

const toJson = (template: TemplateView) => ({
  kind: template.kind,
  subject: template.subject,
  text: template.text,
  html: template.html,
  custom: template.custom,
  variables: [...template.variables],
  updated_at: template.updated_ms === null ? null : new Date(template.updated_ms).toISOString(),
});

/**
 * `/api/v1/email/branding` and `/api/v1/email/templates`: the caller's tenant's email
 * branding and templates (docs/email.md). Reads need `tenant:read`, changes `tenant:manage`.
 */
export const emailSettingsRoutes: FastifyPluginAsyncTypebox<EmailSettingsRoutesOptions> = async (
  app,
  { settings },
) => {
  app.get(
    '/email/branding',
    {
      config: { access: 'tenant:read' },
      schema: {
        tags,
        summary: 'How the tenant’s emails are branded (defaults when never set)',
        response: { 200: BrandingSchema },
      },
    },
    async (request) => settings.branding(request.principal as Principal),
  );

  app.put(
    '/email/branding',
    {
      config: { access: 'tenant:manage' },
      schema: {
        tags,
        summary: 'Set how the tenant’s emails are branded',
        body: BrandingSchema,
        response: { 200: BrandingSchema },
      },
    },
    async (request) => settings.putBranding(actorOf(request), request.body),
  );

  app.get(
    '/email/templates',
    {
      config: { access: 'tenant:read' },
      schema: {
        tags,
        summary: 'Every kind of email with the template the tenant’s emails use',
        response: { 200: Type.Object({ templates: Type.Array(TemplateSchema) }) },
      },
    },
    async (request) => ({
      templates: (await settings.templates(request.principal as Principal)).map(toJson),
    }),
  );

  app.get(
    '/email/templates/:kind',
    {
      config: { access: 'tenant:read' },
      schema: {
        tags,
        summary: 'The template the tenant’s emails of one kind use',
        params: KindParams,
        response: { 200: TemplateSchema },
      },
    },
    async (request) =>
      toJson(await settings.template(request.principal as Principal, request.params.kind)),
  );

  app.put(
    '/email/templates/:kind',
    {
      config: { access: 'tenant:manage' },
      schema: {
        tags,
        summary: 'Save the tenant’s own template of one kind (checked by rendering it)',
        params: KindParams,
        body: Parts,
        response: { 200: TemplateSchema },
      },
    },
    async (request) =>
      toJson(await settings.putTemplate(actorOf(request), request.params.kind, request.body)),
  );

  app.delete(
    '/email/templates/:kind',
    {
      config: { access: 'tenant:manage' },
      schema: {
        tags,
        summary: 'Drop the tenant’s own template of one kind: the default applies again',
        params: KindParams,
        response: { 204: Type.Null({ description: 'No content.' }) },
      },
    },
    async (request, reply) => {
      await settings.resetTemplate(actorOf(request), request.params.kind);
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/email/templates/:kind/preview',
    {
      config: { access: 'tenant:manage' },
      schema: {
        tags,
        summary: 'Render template parts with sample values and the tenant’s branding',
        description: 'Nothing is saved; the parts are checked as PUT checks them.',
        params: KindParams,
        body: Parts,
        response: {
          200: Type.Object({ subject: Type.String(), text: Type.String(), html: Type.String() }),
        },
      },
    },
    async (request) =>
      settings.preview(request.principal as Principal, request.params.kind, request.body),
  );
};
