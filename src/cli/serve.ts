import type { Command } from 'commander';
import { loadConfig } from '../config/load.ts';
import { startServer } from '../server.ts';

export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .description('run the Tessera HTTP server (migrates the database first)')
    .option('-c, --config <path>', 'configuration file (default: ./tessera.toml when present)')
    .action(async (options: { config?: string }) => {
      const { config, file } = loadConfig({ path: options.config });
      const server = await startServer(config);
      server.logger.info({ config_file: file ?? null }, 'configuration loaded');
      await waitForSignalAndStop(server.stop, server.logger);
    });
}

/**
 * Resolves once a graceful stop has finished after SIGTERM or SIGINT. A second
 * signal while stopping means the operator is impatient: exit at once with 1.
 */
function waitForSignalAndStop(
  stop: (reason: string) => Promise<void>,
  logger: { error: (obj: object, msg: string) => void },
): Promise<void> {
  return new Promise((resolve, reject) => {
    let stopping = false;
    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) process.exit(1);
      stopping = true;
      stop(signal).then(resolve, (error: unknown) => {
        logger.error({ err: error }, 'error while stopping');
        reject(error);
      });
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}
