import type { FastifyReply } from 'fastify';
import { type PageContent, renderPage } from './html.ts';

/** Sends a whole page with `status`. */
export function sendPage(
  reply: FastifyReply,
  content: Omit<PageContent, 'nonce'>,
  status = 200,
): FastifyReply {
  return reply
    .code(status)
    .type('text/html; charset=utf-8')
    .send(renderPage({ ...content, nonce: reply.cspNonce }));
}
