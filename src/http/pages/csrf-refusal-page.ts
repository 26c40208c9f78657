import type { FastifyError, FastifyInstance } from 'fastify';
import { html } from './html.ts';
import { sendPage } from './send-page.ts';

/**
 * A page's form refused for its CSRF token (@fastify/csrf-protection's FST_CSRF_*
 * errors: no cookie, or a token that does not match it) answers 403 with a page a
 * person can act on, not a problem document. Any other error goes on to the app's
 * problem handler (an error handler that throws hands the error to its parent's).
 * Set on the pages plugin's scope, so every page inherits it.
 */
export function answerCsrfRefusalsWithPage(app: FastifyInstance): void {
  app.setErrorHandler((error, request, reply) => {
    if (!String((error as FastifyError).code ?? '').startsWith('FST_CSRF_')) throw error;
    request.log.info({ code: (error as FastifyError).code }, 'page form refused: CSRF token');
    return sendPage(
      reply,
      {
        title: 'This form has expired',
        body: html`<p>The form was not sent from the page this server showed, or it was open too long. Nothing was changed.</p>
<p>Open the link in your email again.</p>`,
      },
      403,
    );
  });
}
