import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Counter } from 'prom-client';
import { sendProblem } from '../../http/problem.ts';
import { isTesseraError } from '../../platform/errors.ts';
import type { Limiter } from './failover-backend.ts';
import type { BucketTake } from './rate-limit-backend.ts';
import {
  moreRestrictive,
  rateLimited,
  type ScopedDecision,
  setRateLimitHeaders,
} from './rate-limit-reply.ts';
import { bucketKey, type RateLimitRules, type RateLimitScope } from './rate-limit-rules.ts';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * The body property holding an email address this route acts on (login,
     * registration, anything that sends email): each request also spends a token
     * of that address's bucket. One line per route: `rateLimitEmail: 'email'`.
     */
    rateLimitEmail?: string;
    /**
     * Login: the address's bucket is only looked at before (an empty one refuses,
     * right password or not) and spent by a failed attempt (401) afterwards, so
     * signing in successfully never uses up the budget of guesses. Routes that send
     * email leave this unset: every request spends.
     */
    rateLimitEmailOnFailure?: boolean;
  }
  interface FastifyRequest {
    /** The most restrictive bucket this request spent from so far (its headers). */
    rateLimit: ScopedDecision | null;
  }
}

interface ScopedTake extends BucketTake {
  readonly scope: RateLimitScope;
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
 *   names one (preValidation, before the password is hashed); a login only looks
 *   there, and spends when it fails (onSend): successful logins use up nothing;
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

  /**
   * Spends one token from each bucket, or from none if one is empty, and refuses the
   * request then (naming the first empty one). `lookOnly`: refuses the same way, spends nothing.
   */
  async function spend(
    request: FastifyRequest,
    reply: FastifyReply,
    buckets: readonly ScopedTake[],
    lookOnly = false,
  ): Promise<void> {
    const decisions = await limiter.take(buckets, 1, lookOnly);
    if (!decisions) return; // fail_open while the shared store is down
    const scoped = decisions.map((decision, n) => ({
      ...decision,
      scope: (buckets[n] as ScopedTake).scope,
    }));
    const empty = scoped.find((decision) => !decision.allowed);
    if (empty) {
      hits.inc({ scope: empty.scope });
      throw rateLimited(empty);
    }
    // A look spends nothing; its headers would describe a bucket the request did not use.
    if (lookOnly) return;
    for (const decision of scoped) request.rateLimit = moreRestrictive(request.rateLimit, decision);
    if (request.rateLimit) setRateLimitHeaders(reply, request.rateLimit);
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
      const ip: ScopedTake = { scope: 'ip', key: bucketKey.ip(request.ip), rule: rules.ip };
      // Routes with credentials only look: their IP bucket is spent by failures alone.
      await spend(request, reply, [ip], request.routeOptions.config.access !== 'public');
    }),
  );

  api.addHook(
    'preValidation',
    refusing(async (request, reply) => {
      const buckets: ScopedTake[] = [];
      const { principal } = request;
      if (principal) {
        const plan = await deps.planOf(principal.tenantId);
        if (principal.kind === 'api_key' && principal.apiKeyId !== null) {
          const key = bucketKey.apiKey(principal.apiKeyId);
          buckets.push({ scope: 'api_key', key, rule: rules.apiKey(plan) });
        }
        const key = bucketKey.tenant(principal.tenantId);
        buckets.push({ scope: 'tenant', key, rule: rules.tenant(plan) });
      }
      const email = emailBucket(request);
      if (email && request.routeOptions.config.rateLimitEmailOnFailure) {
        await spend(request, reply, [email], true);
      } else if (email) {
        buckets.push(email);
      }
      if (buckets.length > 0) await spend(request, reply, buckets);
    }),
  );

  /** The bucket of the address the route names, if the body has one. */
  function emailBucket(request: FastifyRequest): ScopedTake | undefined {
    const field = request.routeOptions.config.rateLimitEmail;
    const email = field ? (request.body as Record<string, unknown> | null)?.[field] : undefined;
    // A missing or malformed address is left to the route's schema to refuse.
    if (typeof email !== 'string' || email.trim() === '') return undefined;
    return { scope: 'email', key: bucketKey.email(email), rule: rules.email };
  }

  // A failed authentication costs the IP a token (see above). onSend sees the 401
  // however it was produced; the headers then report the IP's bucket.
  api.addHook('onSend', async (request, reply) => {
    if (reply.statusCode !== 401) return;
    if (request.routeOptions.config.access === 'public') {
      // A failed login spends from its address's bucket (see rateLimitEmailOnFailure).
      const email = request.routeOptions.config.rateLimitEmailOnFailure && emailBucket(request);
      if (!email) return;
      const [decision] = (await limiter.take([email], 1).catch(() => undefined)) ?? [];
      if (decision) {
        request.rateLimit = moreRestrictive(request.rateLimit, { ...decision, scope: 'email' });
        setRateLimitHeaders(reply, request.rateLimit);
      }
      return;
    }
    const ip = { key: bucketKey.ip(request.ip), rule: rules.ip };
    const [decision] = (await limiter.take([ip], 1).catch(() => undefined)) ?? [];
    if (decision) setRateLimitHeaders(reply, decision);
  });
}
