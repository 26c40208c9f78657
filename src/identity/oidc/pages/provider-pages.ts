import { randomBytes } from 'node:crypto';
import type { KoaContextWithOIDC } from 'oidc-provider';
import { html, SafeHtml } from '../../../http/pages/html.ts';
import type { ProviderPages } from '../oidc-provider.ts';
import { type PageBranding, renderHostedPage } from './hosted-page.ts';
import { messageBody } from './sign-in-pages.ts';

const DEFAULT_LOOK: PageBranding = { product_name: 'Tessera', logo_url: '', color: '#3b5bdb' };

/** The CSP of a page the provider renders: its nonce'd style, forms to this origin. */
function pageCsp(nonce: string): string {
  return [
    "default-src 'none'",
    `style-src 'nonce-${nonce}'`,
    'img-src https: data:',
    "form-action 'self' https: http:",
    "base-uri 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

function render(ctx: KoaContextWithOIDC, title: string, body: SafeHtml): string {
  const nonce = randomBytes(16).toString('base64');
  ctx.set('content-security-policy', pageCsp(nonce));
  ctx.set('cache-control', 'no-store');
  ctx.type = 'html';
  return renderHostedPage({ title, body, nonce, branding: DEFAULT_LOOK });
}

/**
 * The pages oidc-provider itself renders, in the hosted pages' look: its errors (a
 * request that cannot be answered to the client, such as an unregistered redirect URI:
 * never redirected, RFC 6749 §4.1.2.1), the logout confirmation and its success.
 */
export const providerPages: ProviderPages = {
  error(ctx, { error, error_description }) {
    return render(
      ctx,
      'Sign-in error',
      messageBody(
        error_description ?? 'The request cannot be completed.',
        `Error code: ${error}. Go back to the application and try again.`,
      ),
    );
  },
  logout(ctx, form) {
    const client = ctx.oidc.client?.clientName;
    // `form` is the provider's hidden form (its action and xsrf token); the buttons submit it.
    return render(
      ctx,
      'Sign out',
      html`${new SafeHtml(form)}
<p>Do you want to sign out${client ? html` of ${client}` : html``} and every application you signed in to here?</p>
<button type="submit" form="op.logoutForm" name="logout" value="yes" autofocus>Sign out</button>
<button type="submit" form="op.logoutForm" class="secondary">Stay signed in</button>`,
    );
  },
  loggedOut(ctx) {
    return render(ctx, 'Signed out', messageBody('You have signed out. You can close this page.'));
  },
};
