import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config/load.ts';
import { TESSERA_VERSION } from '../platform/version.ts';
import { registerApiKeyCommands } from './apikey.ts';
import { registerBackupCommands } from './backup.ts';
import { registerConfigCommands } from './config.ts';
import { registerIpFilterCommands } from './ipfilter.ts';
import { registerKeysCommands } from './keys.ts';
import { registerLedgerCommands } from './ledger.ts';
import { registerLockoutCommands } from './lockout.ts';
import { registerMigrateCommand } from './migrate.ts';
import { registerServeCommand } from './serve.ts';
import { registerStatsCommand } from './stats.ts';
import { registerTeamCommands } from './team.ts';
import { registerTenantCommands } from './tenant.ts';
import { type CliIo, PROCESS_IO, registerUserCommands } from './user.ts';
import { registerUserAdminCommands } from './user-admin.ts';

/** Exit codes: 0 success, 1 the operation failed, 2 bad usage or bad configuration. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export function buildProgram(io: CliIo = PROCESS_IO): Command {
  const program = new Command('tessera')
    .description('Tessera: a multi-tenant event store with identity built in.')
    .version(TESSERA_VERSION, '-v, --version', 'print the Tessera version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    });
  registerServeCommand(program);
  registerMigrateCommand(program);
  registerConfigCommands(program);
  registerUserCommands(program, io);
  registerUserAdminCommands(program, io);
  registerTeamCommands(program, io);
  registerKeysCommands(program, io);
  registerTenantCommands(program, io);
  registerStatsCommand(program, io);
  registerApiKeyCommands(program, io);
  registerIpFilterCommands(program, io);
  registerLockoutCommands(program, io);
  registerBackupCommands(program, io);
  registerLedgerCommands(program, io);
  return program;
}

/** Runs the CLI and resolves to the process exit code instead of exiting, so tests can call it. */
export async function runCli(argv: readonly string[], io: CliIo = PROCESS_IO): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync([...argv]);
    return EXIT_OK;
  } catch (error) {
    return exitCodeFor(error, io);
  }
}

function exitCodeFor(error: unknown, io: CliIo): number {
  if (error instanceof CommanderError) {
    // --help and --version end through exitOverride with exit code 0. Commander's
    // own errors (exit code 1) are usage errors; ours (`tessera.*`) carry their code.
    if (error.exitCode === 0) return EXIT_OK;
    return error.code.startsWith('tessera.') ? error.exitCode : EXIT_USAGE;
  }
  if (error instanceof ConfigError) {
    io.stderr.write(`tessera: ${error.message}\n`);
    return EXIT_USAGE;
  }
  io.stderr.write(`tessera: ${error instanceof Error ? error.message : String(error)}\n`);
  return EXIT_FAILURE;
}
