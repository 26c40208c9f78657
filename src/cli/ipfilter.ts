import { type Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { CLI_AUDIT_CONTEXT } from '../access/audit-context.ts';
import { toIpFilter } from '../protection/ip-filters/ip-filter-json.ts';
import {
  createIpFilterService,
  type IpFilterService,
} from '../protection/ip-filters/ip-filter-service.ts';
import type { IpFilterAction, IpFilterScope } from '../protection/ip-filters/ip-filter-store.ts';
import { parseLimit } from './admin-args.ts';
import { type AdminSession, adminOptions, runAdmin } from './admin-session.ts';
import { cliActorIn } from './cli-actor.ts';
import { printRecord, printRows } from './output.ts';
import { type CliIo, PROCESS_IO } from './user.ts';

interface ScopeOptions {
  readonly config?: string;
  readonly json?: boolean;
  readonly tenant?: string;
  readonly global?: boolean;
}

const EXIT_USAGE = 2;
const COLUMNS = [
  'id',
  'scope',
  'tenant_id',
  'cidr',
  'action',
  'reason',
  'created_by',
  'created_at',
];

/** The route's limits: one line of 1-500 characters. */
function parseReason(value: string): string {
  if (value.length < 1 || value.length > 500) {
    throw new InvalidArgumentError('expected 1-500 characters');
  }
  return value;
}

/** `--tenant <id>` or `--global`, exactly one. */
function withScope(command: Command): Command {
  return adminOptions(
    command
      .addOption(new Option('--tenant <id>', "the tenant's list").conflicts('global'))
      .addOption(new Option('--global', 'the global list, applied to every request')),
  );
}

/**
 * `tessera ipfilter ...`: the rules and audit events of /api/v1/ip-filters, with the
 * CLI as actor. It is also the way back in after a lockout: it works at the database,
 * never through the filters, and has no address to refuse a change for.
 */
export function registerIpFilterCommands(program: Command, io: CliIo = PROCESS_IO): void {
  const ipfilter = program
    .command('ipfilter')
    .description('manage the global and per-tenant IP allow and block lists');
  const service = ({ db, services }: AdminSession): IpFilterService =>
    createIpFilterService({ db, audit: services.audit, lockTenant: services.tenancy.lockTenant });

  /** The scope the options name, checked to exist; a usage error (exit 2) when they name none. */
  async function scopeOf(session: AdminSession, options: ScopeOptions): Promise<IpFilterScope> {
    if (options.global) return null;
    if (options.tenant === undefined) {
      io.stderr.write('tessera: name the list: --tenant <id> or --global\n');
      throw new CommanderError(EXIT_USAGE, 'tessera.usage', 'no list named');
    }
    await cliActorIn(session.services.tenancy.tenants, options.tenant);
    return options.tenant;
  }

  withScope(
    ipfilter
      .command('add <cidr>')
      .description('add an allow or block entry for an address or CIDR range')
      .addOption(
        new Option('--action <action>', 'allow or block')
          .choices(['allow', 'block'])
          .makeOptionMandatory(),
      )
      .requiredOption('--reason <text>', 'why, for whoever reads the list later', parseReason),
  ).action(
    async (cidr: string, options: ScopeOptions & { action: IpFilterAction; reason: string }) => {
      await runAdmin(io, options, async (session) => {
        const scope = await scopeOf(session, options);
        const created = await service(session).add(CLI_AUDIT_CONTEXT, {
          cidr,
          action: options.action,
          reason: options.reason,
          scope,
        });
        printRecord(io, options.json, toIpFilter(created));
      });
    },
  );

  withScope(
    ipfilter
      .command('list')
      .description("list a tenant's entries, or the global ones")
      .option('--limit <n>', 'at most this many (1-1000)', parseLimit, 1000),
  ).action(async (options: ScopeOptions & { limit: number }) => {
    await runAdmin(io, options, async (session) => {
      const scope = await scopeOf(session, options);
      const entries = await service(session).list(scope, { limit: options.limit });
      printRows(io, options.json, entries.map(toIpFilter), COLUMNS);
    });
  });

  adminOptions(
    ipfilter.command('remove <id>').description('remove an entry of any list, global or tenant'),
  ).action(async (id: string, options: ScopeOptions) => {
    await runAdmin(io, options, async (session) => {
      const removed = await service(session).remove(CLI_AUDIT_CONTEXT, id, () => true);
      io.stdout.write(
        options.json
          ? `${JSON.stringify(toIpFilter(removed))}\n`
          : `removed ${removed.id} (${removed.action} ${removed.cidr})\n`,
      );
    });
  });
}
