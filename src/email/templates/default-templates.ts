import type { EmailKind } from './kinds.ts';

/** One message kind's three parts, each a Liquid template. */
export interface TemplateParts {
  readonly subject: string;
  readonly text: string;
  readonly html: string;
}

/** The HTML around every default message: the tenant's colour and logo, then the body. */
function layout(body: string): string {
  return `<!doctype html>
<html><body style="margin:0;padding:24px;background:#f5f5f7;font-family:system-ui,sans-serif;color:#1d1d1f">
<table role="presentation" width="100%" style="max-width:560px;margin:auto;background:#fff;border-radius:8px;border-top:4px solid {{ color }}">
<tr><td style="padding:24px">
{% if logo_url != "" %}<img src="{{ logo_url }}" alt="{{ product_name }}" style="max-height:40px"><br>{% endif %}
${body}
{% if support_email != "" %}<p style="color:#6e6e73;font-size:13px">Questions? Write to <a href="mailto:{{ support_email }}">{{ support_email }}</a>.</p>{% endif %}
</td></tr></table></body></html>`;
}

function button(label: string): string {
  return `<p><a href="{{ link }}" style="display:inline-block;padding:10px 18px;background:{{ color }};color:#fff;text-decoration:none;border-radius:6px">${label}</a></p>
<p style="font-size:13px;color:#6e6e73">Or open this address: {{ link }}</p>`;
}

const footer = `{% if support_email != "" %}
Questions? Write to {{ support_email }}.{% endif %}`;

/** What every tenant gets until it saves its own (PUT /api/v1/email/templates/{kind}). */
export const DEFAULT_TEMPLATES: Readonly<Record<EmailKind, TemplateParts>> = {
  verify_email: {
    subject: 'Confirm your email address for {{ product_name }}',
    text: `Hello{% if name != "" %} {{ name }}{% endif %},

Confirm that {{ recipient }} is your address by opening this link (valid for {{ expires_in }}):

{{ link }}

If you did not ask for this, ignore this email.
${footer}`,
    html: layout(`<p>Hello{% if name != "" %} {{ name }}{% endif %},</p>
<p>Confirm that {{ recipient }} is your address (the link is valid for {{ expires_in }}).</p>
${button('Confirm my address')}
<p>If you did not ask for this, ignore this email.</p>`),
  },
  reset_password: {
    subject: 'Reset your {{ product_name }} password',
    text: `Hello{% if name != "" %} {{ name }}{% endif %},

Someone asked to reset the password of {{ recipient }}. To choose a new one, open this link (valid for {{ expires_in }}, once):

{{ link }}

If it was not you, ignore this email: your password stays as it is.
${footer}`,
    html: layout(`<p>Hello{% if name != "" %} {{ name }}{% endif %},</p>
<p>Someone asked to reset the password of {{ recipient }}. The link is valid for {{ expires_in }}, once.</p>
${button('Choose a new password')}
<p>If it was not you, ignore this email: your password stays as it is.</p>`),
  },
  magic_link: {
    subject: 'Your sign-in link for {{ product_name }}',
    text: `Hello{% if name != "" %} {{ name }}{% endif %},

Open this link to sign in{% if tenant_name != "" %} to {{ tenant_name }}{% endif %} (valid for {{ expires_in }}, once):

{{ link }}

If you did not ask to sign in, ignore this email.
${footer}`,
    html: layout(`<p>Hello{% if name != "" %} {{ name }}{% endif %},</p>
<p>Sign in{% if tenant_name != "" %} to {{ tenant_name }}{% endif %} with the button below (valid for {{ expires_in }}, once).</p>
${button('Sign in')}
<p>If you did not ask to sign in, ignore this email.</p>`),
  },
  invitation: {
    subject: "You're invited to {{ tenant_name }} on {{ product_name }}",
    text: `Hello,

{{ inviter }} invites {{ recipient }} to join {{ tenant_name }} on {{ product_name }} as {{ roles }}. Accept within {{ expires_in }}:

{{ link }}
${footer}`,
    html: layout(`<p>Hello,</p>
<p>{{ inviter }} invites {{ recipient }} to join <strong>{{ tenant_name }}</strong> on {{ product_name }} as {{ roles }}. Accept within {{ expires_in }}.</p>
${button('Accept the invitation')}`),
  },
  password_changed: {
    subject: 'Your {{ product_name }} password was changed',
    text: `Hello{% if name != "" %} {{ name }}{% endif %},

The password of {{ recipient }} was changed at {{ changed_at }}{% if ip != "" %} from {{ ip }}{% endif %}, and every session was signed out.

If this was not you, reset your password at once and tell us.
${footer}`,
    html: layout(`<p>Hello{% if name != "" %} {{ name }}{% endif %},</p>
<p>The password of {{ recipient }} was changed at {{ changed_at }}{% if ip != "" %} from {{ ip }}{% endif %}, and every session was signed out.</p>
<p>If this was not you, reset your password at once and tell us.</p>`),
  },
  account_exists: {
    subject: 'You already have a {{ product_name }} account',
    text: `Hello{% if name != "" %} {{ name }}{% endif %},

Someone tried to create a {{ product_name }} account for {{ recipient }}, which already has one. {{ login_hint }}

If it was not you, ignore this email: nothing changed.
${footer}`,
    html: layout(`<p>Hello{% if name != "" %} {{ name }}{% endif %},</p>
<p>Someone tried to create a {{ product_name }} account for {{ recipient }}, which already has one. {{ login_hint }}</p>
<p>If it was not you, ignore this email: nothing changed.</p>`),
  },
  mfa_changed: {
    subject: 'The sign-in security of your {{ product_name }} account changed',
    text: `Hello{% if name != "" %} {{ name }}{% endif %},

{{ change }}
Account: {{ recipient }}, at {{ changed_at }}{% if ip != "" %} from {{ ip }}{% endif %}.

If this was not you, reset your password at once and ask your administrator to reset your second factors.
${footer}`,
    html: layout(`<p>Hello{% if name != "" %} {{ name }}{% endif %},</p>
<p>{{ change }}</p>
<p>Account: {{ recipient }}, at {{ changed_at }}{% if ip != "" %} from {{ ip }}{% endif %}.</p>
<p>If this was not you, reset your password at once and ask your administrator to reset your second factors.</p>`),
  },
  webhook_disabled: {
    subject: 'A webhook endpoint of {{ tenant_name }} was disabled',
    text: `Hello{% if name != "" %} {{ name }}{% endif %},

{{ product_name }} stopped delivering to the webhook endpoint {{ endpoint_url }} ({{ endpoint_id }}) at {{ disabled_at }}.
{{ reason }}

Nothing was lost: the events wait in the log. Fix the receiver, then enable the endpoint again (PATCH /api/v1/webhooks/{{ endpoint_id }} with enabled: true) and delivery resumes where it stopped.
${footer}`,
    html: layout(`<p>Hello{% if name != "" %} {{ name }}{% endif %},</p>
<p>{{ product_name }} stopped delivering to the webhook endpoint <strong>{{ endpoint_url }}</strong> ({{ endpoint_id }}) at {{ disabled_at }}.</p>
<p>{{ reason }}</p>
<p>Nothing was lost: the events wait in the log. Fix the receiver, then enable the endpoint again and delivery resumes where it stopped.</p>`),
  },
};
