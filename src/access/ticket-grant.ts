/** The credential a subscription ticket was issued to, authenticated again when it is used. */
export type TicketCredential =
  | { readonly kind: 'session'; readonly sessionId: string; readonly userId: string }
  | { readonly kind: 'api_key'; readonly digest: string };

/** What a redeemed subscription ticket stands for (src/events/subscriptions/tickets). */
export interface TicketGrant {
  readonly tenantId: string;
  readonly credential: TicketCredential;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * The route also accepts a subscription ticket as `?ticket=` (the SSE and
     * WebSocket routes, which browsers cannot send headers to).
     */
    subscriptionTicket?: boolean;
  }
}
