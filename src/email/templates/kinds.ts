/**
 * The kinds of message Tessera sends, and the variables each template may use beyond
 * the common ones. A template naming any other variable is refused when saved
 * (templates are rendered with strict variables), so a typo cannot ship an email with
 * a hole in it.
 */
export const EMAIL_KINDS = [
  'verify_email',
  'reset_password',
  'magic_link',
  'invitation',
  'password_changed',
  'account_exists',
  'mfa_changed',
  'webhook_disabled',
] as const;

export type EmailKind = (typeof EMAIL_KINDS)[number];

/** Every template may use these: the tenant's branding and the recipient. */
export const COMMON_VARIABLES = [
  'product_name',
  'logo_url',
  'color',
  'support_email',
  'tenant_name',
  'recipient',
  'name',
] as const;

/** What each kind adds, with the sample value a template is checked against on save. */
export const KIND_VARIABLES: Readonly<Record<EmailKind, Readonly<Record<string, string>>>> = {
  verify_email: {
    link: 'https://tessera.example/auth/email/verify?token=t',
    expires_in: '24 hours',
  },
  reset_password: {
    link: 'https://tessera.example/auth/password/reset?token=t',
    expires_in: '30 minutes',
  },
  magic_link: { link: 'https://tessera.example/auth/magic-link?token=t', expires_in: '15 minutes' },
  invitation: {
    link: 'https://tessera.example/auth/invitations/accept?token=t',
    expires_in: '7 days',
    inviter: 'ada@example.com',
    roles: 'viewer',
  },
  password_changed: { changed_at: '2026-01-01T00:00:00.000Z', ip: '192.0.2.1' },
  account_exists: { login_hint: 'Sign in, or ask for a password reset if you forgot it.' },
  mfa_changed: {
    change: 'A recovery code was used to sign in; 9 are left.',
    changed_at: '2026-01-01T00:00:00.000Z',
    ip: '192.0.2.1',
  },
  webhook_disabled: {
    endpoint_url: 'https://hooks.example.com/tessera',
    endpoint_id: 'wh_0123456789abcdefghijklmn',
    reason: 'Every attempt to deliver one event failed, for the whole retry schedule.',
    disabled_at: '2026-01-01T00:00:00.000Z',
  },
};

export function isEmailKind(value: string): value is EmailKind {
  return (EMAIL_KINDS as readonly string[]).includes(value);
}

/** Every variable a template of `kind` may use: the common ones, then the kind's own. */
export function variableNames(kind: EmailKind): string[] {
  return [...COMMON_VARIABLES, ...Object.keys(KIND_VARIABLES[kind])];
}
