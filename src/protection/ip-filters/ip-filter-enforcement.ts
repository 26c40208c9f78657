import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Counter, type Registry } from 'prom-client';
import { parseClientAddress } from '../../platform/cidr.ts';
import { TesseraError } from '../../platform/errors.ts';
import type { IpFilterCache } from './ip-filter-cache.ts';
import { IpFilterErrors } from './ip-filter-errors.ts';
import { type IpFilterList, refuses } from './ip-filter-rules.ts';

/** Which list refused a request: the label of `ip_filter_blocks_total`. */
type Scope = 'global' | 'tenant';

export interface IpFilterEnforcement {
  /** App level: the global list, for every request but the probes. */
  installGlobal(app: FastifyInstance, exempt: readonly string[]): void;
  /** In a scope where the guard runs: the tenant's list, for every authenticated request. */
  installTenant(app: FastifyInstance): void;
}

/**
 * Refusals are 403 `ip_blocked`, saying neither which list nor which entry matched:
 * someone probing from a blocked address learns nothing about the lists. The client
 * address is `request.ip`: the peer, or X-Forwarded-For only from a trusted proxy
 * (`server.trusted_proxies`, Fastify's trustProxy).
 */
export function ipFilterEnforcement(cache: IpFilterCache, registry: Registry): IpFilterEnforcement {
  const blocks = new Counter({
    name: 'ip_filter_blocks_total',
    help: 'Requests refused by an IP filter, by the list that refused them (global or tenant).',
    labelNames: ['scope'] as const,
    registers: [registry],
  });

  function refuse(request: FastifyRequest, scope: Scope): TesseraError {
    blocks.inc({ scope });
    // Debug only: a blocked client must not be able to flood the logs.
    request.log.debug({ ip: request.ip, scope }, 'request refused by an IP filter');
    return new TesseraError(
      IpFilterErrors.ip_blocked,
      'Requests from your address are not allowed.',
    );
  }

  return {
    installGlobal(app, exempt) {
      const probes = new Set(exempt);
      app.addHook('onRequest', async (request) => {
        if (probes.has(request.routeOptions.url ?? '')) return;
        const rules = await cache.current();
        if (refusesIp(rules.global, request.ip)) throw refuse(request, 'global');
      });
    },
    installTenant(app) {
      // After the guard (also preValidation, added first), which sets request.tenantId.
      app.addHook('preValidation', async (request) => {
        if (!request.principal) return;
        const rules = await cache.current();
        if (refusesIp(rules.tenant(request.tenantId), request.ip)) throw refuse(request, 'tenant');
      });
    },
  };
}

/** `refuses`, without reading the address when the list is empty (nearly always). */
function refusesIp(list: IpFilterList, ip: string): boolean {
  if (list.allow.size === 0 && list.block.size === 0) return false;
  return refuses(list, parseClientAddress(ip));
}
