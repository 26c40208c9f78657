import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Counter } from 'prom-client';
import { sendProblem } from '../http/problem.ts';
import { isTesseraError } from '../platform/errors.ts';
import type { Limiter } from './failover-backend.ts';
import {
  moreRestrictive,
  rateLimited,
  type ScopedDecision,
  setRateLimitHeaders,
} from './rate-limit-reply.ts';
import { bucketKey, type RateLimitRules, type RateLimitScope } from './rate-limit-rules.ts';
import type { BucketRule } from './token-bucket.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * The body property holding an email address this route acts on (login,
     * registration, anything that sends email): each request also spends a token
     * of that address's bucket. One line per route: `rateLimitEmail: 'email'`.
     */
    rateLimitEmail?: string;
  }
  interface FastifyRequest {
    /** The most restrictive bucket this request spent from so far (its headers). */
    rateLimit: ScopedDecision | null;
  }
}

export interface RateLimitHooksDeps {
  readonly rules: RateLimitRules;
  readonly limiter: Limiter;
  /** The tenant's plan, from the node's cache (quota-service.ts planOf). */
  readonly planOf: (tenantId: string) => string | Promise<string>;
  /** rate_limit_hits_total{scope}: refusals. */
  readonly hits: Pick<Counter<'scope'>, 'inc'>;
}

/**
 * Rate limits of the /api/v1 scope, installed right after the guard:
 * - routes needing no credentials spend from the client IP's bucket (onRequest,
 *   before the body is even read), and from the email address's where the route
 *   names one (preValidation, before the password is hashed);
 * - other routes spend from the tenant's bucket (by plan) and, for an API key, the
 *   key's own (preValidation, after the guard has authenticated the caller);
 * - a 401 on such a route spends from the IP's bucket, and while that is empty the
 *   IP's requests to them are refused before any credential check. That has to hold
 *   for right guesses too: answering a right guess otherwise than a wrong one would
 *   tell a guesser which was right. Clients sharing the IP with a guesser wait with it.
 */
export function installRateLimits(api: FastifyInstance, deps: RateLimitHooksDeps): void {
  const { rules, limiter, hits } = deps;
  api.decorateRequest('rateLimit', null);

  /** Spends (or looks at) one bucket; refuses the request when it is empty. */
  async function spend(
    request: FastifyRequest,
    reply: FastifyReply,
    scope: RateLimitScope,
    key: string,
    rule: BucketRule,
    lookOnly = false,
  ): Promise<void> {
    const decision = await limiter.take(key, rule, 1, lookOnly);
    if (!decision) return; // fail_open while the shared store is down
    const scoped = { ...decision, scope };
    if (!decision.allowed) {
      hits.inc({ scope });
      throw rateLimited(scoped);
    }
    // A look spends nothing; its headers would describe a bucket the request did not use.
    if (lookOnly) return;
    request.rateLimit = moreRestrictive(request.rateLimit, scoped);
    setRateLimitHeaders(reply, request.rateLimit);
  }

  /** Refusals go out from here, not the error handler: a flood must not log a line each. */
  const refusing =
    (hook: (request: FastifyRequest, reply: FastifyReply) => Promise<void>) =>
    async (request: FastifyRequest, reply: FastifyReply) => {
      try {
        await hook(request, reply);
      } catch (error) {
        if (!isTesseraError(error)) throw error;
        return sendProblem(request, reply, error);
      }
    };

  api.addHook(
    'onRequest',
    refusing(async (request, reply) => {
      const ip = bucketKey.ip(request.ip);
      if (request.routeOptions.config.access === 'public') {
        await spend(request, reply, 'ip', ip, rules.ip);
      } else {
        await spend(request, reply, 'ip', ip, rules.ip, true);
      }
    }),
  );

  api.addHook(
    'preValidation',
    refusing(async (request, reply) => {
      const { principal } = request;
      if (principal) {
        const plan = await deps.planOf(principal.tenantId);
        if (principal.kind === 'api_key' && principal.apiKeyId !== null) {
          const key = bucketKey.apiKey(principal.apiKeyId);
          await spend(request, reply, 'api_key', key, rules.apiKey(plan));
        }
        await spend(
          request,
          reply,
          'tenant',
          bucketKey.tenant(principal.tenantId),
          rules.tenant(plan),
        );
      }
      const field = request.routeOptions.config.rateLimitEmail;
      const email = field ? (request.body as Record<string, unknown> | null)?.[field] : undefined;
      // A missing or malformed address is left to the route's schema to refuse.
      if (typeof email === 'string' && email.trim() !== '') {
        await spend(request, reply, 'email', bucketKey.email(email), rules.email);
      }
    }),
  );

  // A failed authentication costs the IP a token (see above). onSend sees the 401
  // however it was produced; the headers then report the IP's bucket.
  api.addHook('onSend', async (request, reply) => {
    if (reply.statusCode !== 401 || request.routeOptions.config.access === 'public') return;
    const decision = await limiter
      .take(bucketKey.ip(request.ip), rules.ip, 1)
      .catch(() => undefined);
    if (decision) setRateLimitHeaders(reply, decision);
  });
}
