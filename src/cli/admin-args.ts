import { type Command, InvalidArgumentError } from 'commander';
import type { Actor } from '../access/actor.ts';
import type { Services } from '../composition-root.ts';
import { IdentityErrors } from '../identity/errors.ts';
import { TesseraError } from '../platform/errors.ts';
import { type AdminSession, adminOptions, runAdmin } from './admin-session.ts';
import { cliActorIn } from './cli-actor.ts';
import type { CliIo } from './user.ts';

/** The options of a command that acts in one tenant. */
export interface TenantOptions {
  readonly config?: string;
  readonly json?: boolean;
  readonly tenant: string;
}

/** `-c`, `--json` and the required `--tenant`. */
export function tenantCommand(command: Command): Command {
  return adminOptions(command.requiredOption('--tenant <id>', 'the tenant to act in'));
}

/** `--limit`: a whole number from 1 to 1000, else a usage error (exit 2). */
export function parseLimit(value: string): number {
  const limit = Number(value);
  if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
    throw new InvalidArgumentError('expected a whole number from 1 to 1000');
  }
  return limit;
}

/** Runs `fn` as the CLI in `--tenant`, with the service `serviceOf` builds on the session. */
export function runInTenant<S>(
  io: CliIo,
  options: TenantOptions,
  serviceOf: (session: AdminSession) => S,
  fn: (service: S, actor: Actor, session: AdminSession) => Promise<void>,
): Promise<void> {
  return runAdmin(io, options, async (session) =>
    fn(serviceOf(session), await actorIn(session.services, options), session),
  );
}

/** The CLI as the actor in `tenant`: 404 `tenant_not_found` (exit 1) unless it exists. */
export function actorIn(services: Services, options: TenantOptions): Promise<Actor> {
  return cliActorIn(services.tenancy.tenants, options.tenant);
}

/**
 * A user id, or an email resolved to its user's id. Whether that user is a member of
 * the tenant is the service's to say, with the same 404 as for an unknown id.
 */
export async function userIdOf(services: Services, idOrEmail: string): Promise<string> {
  if (!idOrEmail.includes('@')) return idOrEmail;
  const user = await services.identity.users.findByEmail(idOrEmail);
  if (!user) {
    throw new TesseraError(
      IdentityErrors.user_not_found,
      `no user of this tenant has the email ${idOrEmail}`,
    );
  }
  return user.id;
}
