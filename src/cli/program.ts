import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config/load.ts';
import { TESSERA_VERSION } from '../platform/version.ts';
import { registerConfigCommands } from './config.ts';
import { registerKeysCommands } from './keys.ts';
import { registerMigrateCommand } from './migrate.ts';
import { registerServeCommand } from './serve.ts';
import { registerUserCommands } from './user.ts';

/** Exit codes: 0 success, 1 the operation failed, 2 bad usage or bad configuration. */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

export function buildProgram(): Command {
  const program = new Command('tessera')
    .description('Tessera: a multi-tenant event store with identity built in.')
    .version(TESSERA_VERSION, '-v, --version', 'print the Tessera version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerServeCommand(program);
  registerMigrateCommand(program);
  registerConfigCommands(program);
  registerUserCommands(program);
  registerKeysCommands(program);
  return program;
}

/** Runs the CLI and resolves to the process exit code instead of exiting, so tests can call it. */
export async function runCli(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv]);
    return EXIT_OK;
  } catch (error) {
    return exitCodeFor(error);
  }
}

function exitCodeFor(error: unknown): number {
  if (error instanceof CommanderError) {
    // --help and --version end through exitOverride with exit code 0.
    return error.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
  }
  if (error instanceof ConfigError) {
    process.stderr.write(`tessera: ${error.message}\n`);
    return EXIT_USAGE;
  }
  process.stderr.write(`tessera: ${error instanceof Error ? error.message : String(error)}\n`);
  return EXIT_FAILURE;
}
