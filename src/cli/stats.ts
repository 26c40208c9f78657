import type { Command } from 'commander';
import { openEventStore } from '../events/open-event-store.ts';
import { adminOptions, runAdmin } from './admin-session.ts';
import { printRows } from './output.ts';
import { type CliIo, PROCESS_IO } from './user.ts';

/** Tenants listed per page while adding up the deployment. */
const PAGE = 1000;

/** `tessera stats`: what each tenant stores, and the deployment's totals. */
export function registerStatsCommand(program: Command, io: CliIo = PROCESS_IO): void {
  adminOptions(
    program
      .command('stats')
      .description('events, entities, event types and bytes stored, per tenant and in total'),
  ).action(async (options: { config?: string; json?: boolean }) => {
    await runAdmin(io, options, async ({ db, services }) => {
      const store = openEventStore(db);
      const rows: Record<string, unknown>[] = [];
      const total = {
        tenant: 'TOTAL',
        status: '',
        events: 0,
        entities: 0,
        event_types: 0,
        bytes: 0,
      };
      let after: string | undefined;
      for (;;) {
        const tenants = await services.tenancy.tenants.list({ after, limit: PAGE });
        for (const tenant of tenants) {
          const stats = await store.stats(tenant.id);
          rows.push({ tenant: tenant.id, status: tenant.status, ...stats });
          total.events += stats.events;
          total.entities += stats.entities;
          total.event_types += stats.event_types;
          total.bytes += stats.bytes;
        }
        if (tenants.length < PAGE) break;
        after = tenants.at(-1)?.id;
      }
      const head = await store.headPosition();
      if (options.json) {
        const { tenant: _, status: __, ...totals } = total;
        io.stdout.write(
          `${JSON.stringify({ engine: db.engine, head_position: head, totals, tenants: rows }, null, 2)}\n`,
        );
        return;
      }
      io.stdout.write(`${db.engine} ${db.location}, log head at position ${head}\n`);
      printRows(
        io,
        false,
        [...rows, total],
        ['tenant', 'status', 'events', 'entities', 'event_types', 'bytes'],
      );
    });
  });
}
