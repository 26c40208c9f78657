import { html, SafeHtml } from '../../../http/pages/html.ts';

/** How a tenant's hosted pages look (the email branding settings, issue 17). */
export interface PageBranding {
  readonly product_name: string;
  readonly logo_url: string;
  readonly color: string;
}

export interface HostedPage {
  readonly title: string;
  readonly body: SafeHtml;
  /** The response's CSP nonce (reply.cspNonce): the one style element carries it. */
  readonly nonce: string;
  readonly branding: PageBranding;
  /**
   * A script of the server's own (never request data), run under the same nonce: the
   * page's reply must set `reply.pageScript` so the CSP allows it.
   */
  readonly script?: string | undefined;
}

/** A colour the page may put in its stylesheet: `#rgb` or `#rrggbb`, else the default. */
function safeColor(color: string): string {
  return /^#(?:[0-9a-f]{3}|[0-9a-f]{6})$/i.test(color) ? color : '#3b5bdb';
}

/**
 * The document around every hosted sign-in page: one nonce'd stylesheet (no inline
 * script or style attribute, so the CSP needs no `unsafe-inline`), landmarks and a
 * heading for screen readers, focus rings for keyboard users, one column that reads on
 * a phone.
 */
export function renderHostedPage({ title, body, nonce, branding, script }: HostedPage): string {
  const color = safeColor(branding.color);
  const logo =
    branding.logo_url !== '' && branding.logo_url.startsWith('https://')
      ? html`<img class="logo" src="${branding.logo_url}" alt="${branding.product_name}">`
      : html`<p class="product">${branding.product_name}</p>`;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${title} · ${branding.product_name}</title>
<style nonce="${nonce}">
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;background:#f4f5f7;color:#1d1d1f;margin:0;padding:2rem 1rem;line-height:1.5}
main{max-width:26rem;margin:auto;background:#fff;border-radius:10px;padding:1.5rem 1.75rem 2rem;box-shadow:0 1px 4px rgba(0,0,0,.12)}
.logo{max-height:2.5rem;max-width:100%}
.product{font-weight:700;color:${color};margin:0 0 .5rem}
h1{font-size:1.35rem;margin:.25rem 0 1rem}
label{display:block;margin:1rem 0 .3rem;font-weight:600}
input[type=email],input[type=password],input[type=text]{width:100%;padding:.65rem;font-size:1rem;border:1px solid #86868b;border-radius:6px}
button,.button{display:inline-block;width:100%;margin-top:1.25rem;padding:.7rem 1rem;font-size:1rem;border:0;border-radius:6px;background:${color};color:#fff;cursor:pointer;text-align:center;text-decoration:none}
button.secondary,.button.secondary{background:#fff;color:#1d1d1f;border:1px solid #86868b}
button:focus-visible,input:focus-visible,a:focus-visible{outline:3px solid #1d1d1f;outline-offset:2px}
.error{color:#b00020;font-weight:600}
.muted{color:#555;font-size:.95rem}
ul.choices{list-style:none;padding:0;margin:0}
ul.choices li{margin:0}
ul.scopes{padding-left:1.25rem}
a{color:${color}}
[hidden]{display:none!important}
.qr{display:block;width:12rem;max-width:100%;height:auto;margin:1rem auto}
code,.codes{font-family:ui-monospace,Menlo,Consolas,monospace;overflow-wrap:anywhere}
ul.codes{columns:2;padding-left:1.25rem}
.links{margin-top:1.25rem}
</style>
</head>
<body>
<main>
${logo}
<h1>${title}</h1>
${body}
</main>
${script === undefined ? html`` : html`<script nonce="${nonce}">${new SafeHtml(script)}</script>`}
</body>
</html>`.value;
}
