import { type Command, CommanderError } from 'commander';
import { CLI_AUDIT_CONTEXT } from '../access/audit-context.ts';
import type { QuotaStats, QuotaUpdate } from '../tenancy/quotas/quota-service.ts';
import {
  PRESET_NAMES,
  type PresetName,
  QUOTA_NAMES,
  type QuotaName,
  type Quotas,
  type TenantQuotas,
} from '../tenancy/quotas/quotas.ts';
import { adminOptions, runAdmin } from './admin-session.ts';
import { printRecord, printRows } from './output.ts';
import type { CliIo } from './user.ts';

interface QuotaOptions {
  readonly config?: string;
  readonly json?: boolean;
  readonly preset?: string;
  readonly set: string[];
  readonly followPlan?: boolean;
}

const EXIT_USAGE = 2;
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function usage(io: CliIo, message: string): never {
  io.stderr.write(`tessera: ${message}\n`);
  throw new CommanderError(EXIT_USAGE, 'tessera.usage', message);
}

/** `--set name=N` pairs on top of the current quotas; every value a whole number >= 0. */
function applySets(io: CliIo, current: Quotas, sets: readonly string[]): Quotas {
  const next: Record<QuotaName, number> = { ...current };
  for (const pair of sets) {
    const [name, value] = pair.split('=');
    if (!QUOTA_NAMES.includes(name as QuotaName))
      usage(io, `unknown quota "${name}" (quotas: ${QUOTA_NAMES.join(', ')})`);
    if (value === undefined || !/^\d{1,15}$/.test(value))
      usage(io, `--set ${name} needs a whole number >= 0 (0: unlimited), got "${value ?? ''}"`);
    next[name as QuotaName] = Number(value);
  }
  return next;
}

const quotasRecord = (tenant: TenantQuotas) => ({
  tenant_id: tenant.tenant_id,
  plan: tenant.plan,
  source: tenant.source,
  ...tenant.quotas,
  updated_at: iso(tenant.updated_ms),
});

const usageRows = ({ usage }: QuotaStats) =>
  Object.entries(usage).map(([name, entry]) => ({
    usage: name,
    quota: entry.quota,
    used: entry.used,
    limit: entry.limit === 0 ? 'unlimited' : entry.limit,
    reset_at: iso(entry.reset_at_ms),
  }));

/** `tessera tenant quotas|stats`: the same service, rules and audit events as the routes. */
export function registerTenantQuotaCommands(tenant: Command, io: CliIo): void {
  adminOptions(
    tenant
      .command('quotas <id>')
      .description("show a tenant's quotas, or set them (0: unlimited)")
      .option('--preset <name>', `set a preset's numbers (${PRESET_NAMES.join(', ')})`)
      .option('--set <quota=n>', 'set one quota, keeping the others (repeatable)', collect, [])
      .option('--follow-plan', "drop the tenant's own quotas: its plan's preset applies again"),
  ).action(async (id: string, options: QuotaOptions) => {
    const modes = [options.preset !== undefined, options.set.length > 0, options.followPlan];
    if (modes.filter(Boolean).length > 1)
      usage(io, '--preset, --set and --follow-plan go one at a time');
    if (options.preset !== undefined && !PRESET_NAMES.includes(options.preset as PresetName))
      usage(io, `unknown preset "${options.preset}" (presets: ${PRESET_NAMES.join(', ')})`);
    await runAdmin(io, options, async ({ services }) => {
      const { quotas } = services.tenancy;
      let result: TenantQuotas;
      if (options.followPlan) result = await quotas.followPlan(CLI_AUDIT_CONTEXT, id);
      else if (options.preset !== undefined || options.set.length > 0) {
        const update: QuotaUpdate =
          options.preset !== undefined
            ? { preset: options.preset as PresetName }
            : applySets(io, (await quotas.get(id)).quotas, options.set);
        result = await quotas.set(CLI_AUDIT_CONTEXT, id, update);
      } else result = await quotas.get(id);
      printRecord(io, options.json, quotasRecord(result));
    });
  });

  adminOptions(
    tenant
      .command('stats <id>')
      .description("a tenant's usage against each quota, and what it stores"),
  ).action(async (id: string, options: { config?: string; json?: boolean }) => {
    await runAdmin(io, options, async ({ services }) => {
      const stats = await services.tenancy.quotas.stats(id);
      if (options.json) {
        io.stdout.write(
          `${JSON.stringify({ ...quotasRecord(stats.tenant), usage: stats.usage }, null, 2)}\n`,
        );
        return;
      }
      io.stdout.write(`${id} (plan ${stats.tenant.plan}, quotas from ${stats.tenant.source})\n`);
      printRows(io, false, usageRows(stats), ['usage', 'used', 'limit', 'reset_at']);
    });
  });
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}
