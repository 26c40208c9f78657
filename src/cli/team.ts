import { type Command, InvalidArgumentError } from 'commander';
import type { Actor } from '../access/actor.ts';
import { toTeamJson } from '../tenancy/org-json.ts';
import type { TeamService } from '../tenancy/teams/team-service.ts';
import {
  parseLimit,
  runInTenant,
  type TenantOptions,
  tenantCommand,
  userIdOf,
} from './admin-args.ts';
import type { AdminSession } from './admin-session.ts';
import { printRecord, printRows } from './output.ts';
import { type CliIo, PROCESS_IO } from './user.ts';

const TEAM_COLUMNS = ['id', 'name', 'description', 'created_at', 'updated_at'];

/**
 * The checks of team-routes.ts's schema: no leading or trailing whitespace and no line
 * breaks, so two names that look the same are the same name.
 */
function parseName(value: string): string {
  if (value.length > 100 || !/^\S(?:.*\S)?$/.test(value)) {
    throw new InvalidArgumentError(
      'expected 1-100 characters on one line, without leading or trailing spaces',
    );
  }
  return value;
}

function parseDescription(value: string): string {
  if (value.length > 1000) throw new InvalidArgumentError('expected at most 1000 characters');
  return value;
}

const teamService = ({ services }: AdminSession): TeamService => services.tenancy.teams;

/** `tessera team ...`: the rules and audit events of /api/v1/teams, with the CLI as actor. */
export function registerTeamCommands(program: Command, io: CliIo = PROCESS_IO): void {
  const team = program.command('team').description("manage a tenant's teams");

  const inTenant = (
    options: TenantOptions,
    fn: (teams: TeamService, actor: Actor, session: AdminSession) => Promise<void>,
  ) => runInTenant(io, options, teamService, fn);
  const done = (options: TenantOptions, record: Record<string, unknown>, text: string) =>
    io.stdout.write(options.json ? `${JSON.stringify(record)}\n` : `${text}\n`);

  tenantCommand(
    team
      .command('create')
      .description('create a team; its name is unique in the tenant, ignoring case')
      .requiredOption('--name <name>', 'the team name', parseName)
      .option('--description <text>', 'what the team is for', parseDescription),
  ).action(async (options: TenantOptions & { name: string; description?: string }) => {
    await inTenant(options, async (teams, actor) => {
      const { name, description } = options;
      const created = await teams.create(actor, options.tenant, { name, description });
      printRecord(io, options.json, toTeamJson(created));
    });
  });

  tenantCommand(
    team
      .command('list')
      .description("list the tenant's teams by name")
      .option('--q <text>', 'only teams whose name contains this, ignoring case')
      .option('--after <name>', 'start after this team name')
      .option('--limit <n>', 'at most this many (1-1000)', parseLimit, 1000),
  ).action(async (options: TenantOptions & { q?: string; after?: string; limit: number }) => {
    await inTenant(options, async (teams, actor) => {
      const { q, after, limit } = options;
      const list = await teams.list(actor, options.tenant, { q, after, limit });
      printRows(io, options.json, list.map(toTeamJson), TEAM_COLUMNS);
    });
  });

  tenantCommand(team.command('show <team>').description('show a team with its members')).action(
    async (id: string, options: TenantOptions) => {
      await inTenant(options, async (teams, actor) => {
        const { members, ...found } = await teams.get(actor, options.tenant, id);
        if (options.json) return printRecord(io, true, { ...toTeamJson(found), members });
        printRecord(io, false, toTeamJson(found));
        io.stdout.write('\n');
        printRows(
          io,
          false,
          members.map((member) => ({ ...member })),
          ['user_id', 'email', 'name'],
        );
      });
    },
  );

  const update = (
    options: TenantOptions,
    id: string,
    changes: { name?: string | undefined; description?: string | undefined },
  ) =>
    inTenant(options, async (teams, actor) => {
      printRecord(
        io,
        options.json,
        toTeamJson(await teams.update(actor, options.tenant, id, changes)),
      );
    });

  tenantCommand(
    team
      .command('update <team>')
      .description("change a team's name or description (an empty description clears it)")
      .option('--name <name>', 'the new name', parseName)
      .option('--description <text>', 'the new description', parseDescription),
  ).action(
    async (
      id: string,
      options: TenantOptions & { name?: string; description?: string },
      command: Command,
    ) => {
      if (options.name === undefined && options.description === undefined) {
        command.error('error: give --name, --description or both', { exitCode: 2 });
      }
      await update(options, id, { name: options.name, description: options.description });
    },
  );

  tenantCommand(
    team
      .command('rename <team>')
      .argument('<name>', 'the new name', parseName)
      .description('rename a team'),
  ).action(async (id: string, name: string, options: TenantOptions) => {
    await update(options, id, { name });
  });

  tenantCommand(
    team.command('delete <team>').description('delete a team (its members stay in the tenant)'),
  ).action(async (id: string, options: TenantOptions) => {
    await inTenant(options, async (teams, actor) => {
      await teams.remove(actor, options.tenant, id);
      done(options, { deleted: id }, `deleted ${id}`);
    });
  });

  tenantCommand(
    team
      .command('add <team> <user>')
      .description('put a member of the tenant (id or email) in the team'),
  ).action(async (id: string, user: string, options: TenantOptions) => {
    await inTenant(options, async (teams, actor, { services }) => {
      const userId = await userIdOf(services, user);
      const { added } = await teams.addMember(actor, options.tenant, id, userId);
      const text = added ? `added ${userId} to ${id}` : `${userId} was in ${id} already`;
      done(options, { team: id, user: userId, added }, text);
    });
  });

  tenantCommand(
    team.command('remove <team> <user>').description('take a user (id or email) out of the team'),
  ).action(async (id: string, user: string, options: TenantOptions) => {
    await inTenant(options, async (teams, actor, { services }) => {
      const userId = await userIdOf(services, user);
      await teams.removeMember(actor, options.tenant, id, userId);
      done(options, { team: id, removed: userId }, `removed ${userId} from ${id}`);
    });
  });
}
