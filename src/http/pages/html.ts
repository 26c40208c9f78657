/** Text made safe for HTML element content and quoted attribute values. */
export function escapeHtml(value: string): string {
  return value
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

/** Markup that is already safe: `html` interpolates it as is. */
export class SafeHtml {
  readonly value: string;
  constructor(value: string) {
    this.value = value;
  }
  toString(): string {
    return this.value;
  }
}

/**
 * A tagged template that escapes every interpolated value unless it is SafeHtml (the
 * result of another `html`), so a page cannot forget to escape what a user typed.
 */
export function html(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  let out = strings[0] ?? '';
  values.forEach((value, index) => {
    const parts = Array.isArray(value) ? value : [value];
    for (const part of parts) {
      out += part instanceof SafeHtml ? part.value : escapeHtml(String(part ?? ''));
    }
    out += strings[index + 1] ?? '';
  });
  return new SafeHtml(out);
}

export interface PageContent {
  readonly title: string;
  readonly body: SafeHtml;
  /** The CSP nonce of this response (reply.cspNonce), for the page's one style element. */
  readonly nonce: string;
}

/**
 * The whole document around a page's body: accessible landmarks, one nonce'd stylesheet.
 * Long unbroken values (an IdP's opaque subject, a claim's JSON, a URL in an SSO test
 * report) wrap anywhere, or a phone's screen would scroll sideways.
 */
export function renderPage({ title, body, nonce }: PageContent): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${title}</title>
<style nonce="${nonce}">
body{font-family:system-ui,sans-serif;background:#f5f5f7;color:#1d1d1f;margin:0;padding:2rem 1rem}
main{max-width:28rem;margin:auto;background:#fff;border-radius:8px;padding:1.5rem 2rem;box-shadow:0 1px 3px rgba(0,0,0,.1)}
h1{font-size:1.4rem}
label{display:block;margin:1rem 0 .25rem;font-weight:600}
input[type=password],input[type=text]{width:100%;box-sizing:border-box;padding:.5rem;font-size:1rem;border:1px solid #86868b;border-radius:6px}
button{margin-top:1.25rem;padding:.6rem 1.2rem;font-size:1rem;border:0;border-radius:6px;background:#3b5bdb;color:#fff;cursor:pointer}
button:focus,input:focus{outline:3px solid #91a7ff;outline-offset:2px}
.error{color:#c92a2a}
dt{font-weight:600;margin-top:.75rem}dd{margin:0}
table{width:100%;margin-top:1.25rem;border-collapse:collapse}caption{text-align:left;font-weight:600;margin-bottom:.5rem}
th,td{text-align:left;vertical-align:top;padding:.25rem .5rem .25rem 0;border-top:1px solid #e5e5ea}
dd,th,td,code{overflow-wrap:anywhere}
th{min-width:8rem}
</style>
</head>
<body><main>
<h1>${title}</h1>
${body}
</main></body>
</html>`.value;
}
