import type { Command } from 'commander';
import { SYSTEM_TENANT } from '../access/roles.ts';
import { TesseraError } from '../platform/errors.ts';
import { HttpErrors } from '../platform/http-errors.ts';
import type { LockoutList } from '../protection/lockout/lockout-service.ts';
import { parseLimit, userIdOf } from './admin-args.ts';
import { adminOptions, runAdmin } from './admin-session.ts';
import { cliActor, cliActorIn } from './cli-actor.ts';
import { printRows } from './output.ts';
import { type CliIo, PROCESS_IO } from './user.ts';

interface Common {
  readonly config?: string;
  readonly json?: boolean;
}

const iso = (ms: number) => new Date(ms).toISOString();

function rowsOf(list: LockoutList): Record<string, unknown>[] {
  if (list.kind === 'ip') {
    return list.items.map((ip) => ({
      ip: ip.ip,
      failures: ip.failures,
      delay_ms: ip.delay_ms,
      last_failure_at: iso(ip.last_failure_ms),
    }));
  }
  return list.items.map((account) => ({
    user_id: account.user_id,
    email: account.email,
    locked_at: iso(account.locked_ms),
    locked_until: iso(account.locked_until_ms),
  }));
}

/**
 * `tessera lockout ...`: the operator's view of locked accounts and slowed IPs, with
 * a platform administrator's reach; clearing is audited with `cli` as the actor.
 */
export function registerLockoutCommands(program: Command, io: CliIo = PROCESS_IO): void {
  const lockout = program
    .command('lockout')
    .description('list and clear account locks and slowed client IPs (failed logins)');

  adminOptions(
    lockout
      .command('list')
      .description('list locked accounts, or with --ips the slowed client IPs')
      .option('--tenant <id>', "only the tenant's members")
      .option('--ips', 'list slowed client IPs instead of locked accounts')
      .option('--limit <n>', 'at most this many (1-1000)', parseLimit, 1000),
  ).action(async (options: Common & { tenant?: string; ips?: boolean; limit: number }) => {
    await runAdmin(io, options, async ({ services }) => {
      const actor =
        options.tenant === undefined
          ? cliActor(SYSTEM_TENANT)
          : await cliActorIn(services.tenancy.tenants, options.tenant);
      const list = await services.protection.lockouts.list(actor, {
        kind: options.ips ? 'ip' : 'user',
        tenant_id: options.tenant,
        limit: options.limit,
      });
      const columns =
        list.kind === 'ip'
          ? ['ip', 'failures', 'delay_ms', 'last_failure_at']
          : ['user_id', 'email', 'locked_at', 'locked_until'];
      printRows(io, options.json, rowsOf(list), columns);
    });
  });

  adminOptions(
    lockout
      .command('clear')
      .description('unlock an account (--user) or end the slowing of a client IP (--ip)')
      .option('--user <email-or-id>', 'the locked account')
      .option('--ip <ip>', 'the slowed client IP'),
  ).action(async (options: Common & { user?: string; ip?: string }) => {
    await runAdmin(io, options, async ({ services }) => {
      if ((options.user === undefined) === (options.ip === undefined)) {
        throw new TesseraError(HttpErrors.bad_request, 'name exactly one of --user or --ip');
      }
      const actor = cliActor(SYSTEM_TENANT);
      const report = (verb: 'unlocked' | 'cleared', what: string) =>
        io.stdout.write(
          options.json ? `${JSON.stringify({ [verb]: what })}\n` : `${verb} ${what}\n`,
        );
      if (options.user !== undefined) {
        const userId = await userIdOf(services, options.user);
        await services.protection.lockouts.unlockAccount(actor, userId);
        report('unlocked', userId);
      } else if (options.ip !== undefined) {
        await services.protection.lockouts.clearIp(actor, options.ip);
        report('cleared', options.ip);
      }
    });
  });
}
