import packageJson from '../../package.json' with { type: 'json' };

/** The running Tessera version, from package.json (one source of truth). */
export const TESSERA_VERSION: string = packageJson.version;
