import type { Command } from 'commander';
import { loadConfig } from '../config/load.ts';
import { generateExampleConfig, maskConfig, renderConfig } from '../config/render.ts';

export function registerConfigCommands(program: Command): void {
  const config = program.command('config').description('generate, show or validate configuration');

  config
    .command('generate')
    .description('print a complete, commented example tessera.toml holding every default')
    .action(() => {
      process.stdout.write(generateExampleConfig());
    });

  config
    .command('show')
    .description(
      'print the effective configuration (file + environment + defaults), secrets masked',
    )
    .option('-c, --config <path>', 'configuration file (default: ./tessera.toml when present)')
    .option('--json', 'print JSON instead of TOML')
    .action((options: { config?: string; json?: boolean }) => {
      const { config: effective, file } = loadConfig({ path: options.config });
      if (options.json) {
        process.stdout.write(`${JSON.stringify(maskConfig(effective), null, 2)}\n`);
        return;
      }
      process.stdout.write(
        `# Effective configuration from ${file ?? 'defaults'} and the environment.\n`,
      );
      process.stdout.write(renderConfig(effective));
    });

  config
    .command('validate')
    .description('check a configuration file (and TESSERA_* variables); exit 2 when invalid')
    .argument('[path]', 'configuration file (default: ./tessera.toml when present)')
    .action((path: string | undefined) => {
      const { file } = loadConfig({ path });
      process.stdout.write(`configuration is valid (${file ?? 'defaults and environment'})\n`);
    });
}
