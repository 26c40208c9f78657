import { describeAllowed } from './describe.ts';
import { SECTIONS } from './fields.ts';
import { tomlLiteral } from './render.ts';

/**
 * The settings table of docs/configuration.md, generated from the schema so the
 * docs cannot drift: a test checks the page contains exactly this table.
 */
export function configurationTable(): string {
  const rows = [
    '| Setting | Environment | Default | Allowed | Meaning |',
    '| --- | --- | --- | --- | --- |',
  ];
  for (const section of SECTIONS) {
    for (const setting of section.settings) {
      const cells = [
        `\`${setting.path}\``,
        `\`${setting.envName}\``,
        `\`${tomlLiteral(setting.schema.default)}\``,
        describeAllowed(setting.schema),
        setting.schema.description ?? '',
      ];
      rows.push(`| ${cells.map((cell) => cell.replaceAll('|', '\\|')).join(' | ')} |`);
    }
  }
  return rows.join('\n');
}
