/**
 * Tessera's dependency rules (`npm run lint` runs them; docs/architecture.md explains
 * them). Domains are the folders under src/; each may import only the layers below
 * it, so no two domains can form an import cycle. Type-only imports count too.
 */

/** Bottom to top. A domain may import any domain listed before it, never one after. */
const LAYERS = [
  'config',
  'platform',
  'storage',
  'migrations',
  'http',
  'access',
  'events',
  'audit',
  'email',
  'protection',
  'identity',
  'tenancy',
  'sso',
  'webhooks',
  // Above identity, whose signing keys sign its checkpoints.
  'ledger',
  'backup',
  // The files directly in src/ (composition root, app, server) sit here: they wire
  // every domain, and only the CLI above them may import them.
  'cli',
];

/** The files directly in src/; main.ts, the process entry, may import the CLI. */
const ROOT_FILES = '^src/[^/]+\\.ts$';

/** Test code that lives in src/ beside what it tests: contract suites and their fixture. */
const TEST_CODE = '(\\.test\\.ts|\\.contract\\.ts|/contract-fixture\\.ts)$';

const layerRules = LAYERS.map((domain, index) => ({
  name: `layer-${domain}`,
  comment: `${domain} sits below ${LAYERS.slice(index + 1).join(', ') || 'the composition root'}: it may not import them`,
  severity: 'error',
  from: { path: `^src/${domain}/`, pathNot: TEST_CODE },
  to: {
    path: `^src/(${LAYERS.slice(index + 1).join('|')})/${domain === 'cli' ? '' : `|${ROOT_FILES}`}`,
    pathNot: `^src/${domain}/`,
  },
}));

module.exports = {
  forbidden: [
    ...layerRules,
    {
      name: 'layer-root',
      comment: 'The composition root wires the domains; only main.ts, the entry, starts the CLI.',
      severity: 'error',
      from: { path: ROOT_FILES, pathNot: `^src/main\\.ts$|${TEST_CODE}` },
      to: { path: '^src/cli/' },
    },
    {
      name: 'no-domain-cycle',
      comment: 'Folders under src/ form no import cycle (a second guard beside the layers).',
      severity: 'error',
      scope: 'folder',
      from: { path: '^src/[^/]+$' },
      to: { circular: true },
    },
    {
      name: 'stores-stay-home',
      comment:
        "A domain's stores are its own: another domain asks its service or the port it exposes (identity/identity-port.ts). The event store's opener is the events domain's public entry.",
      severity: 'error',
      from: { path: '^src/([^/]+)/', pathNot: '^src/cli/' },
      to: { path: '-store\\.ts$', pathNot: ['^src/$1/', '^src/events/open-event-store\\.ts$'] },
    },
    {
      name: 'route-gets-services',
      comment:
        'Routes receive services from the composition root; they never reach a store or the database.',
      severity: 'error',
      from: { path: '(-routes\\.ts|/routes/[^/]+\\.ts)$', pathNot: TEST_CODE },
      to: { path: '(-store\\.ts$|^src/storage/|^node_modules/(kysely|pg|better-sqlite3)/)' },
    },
    {
      name: 'src-not-test',
      comment: 'Shipped code never imports test code.',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^test/' },
    },
  ],
  options: {
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
    // Test code (tests, contract suites) may reach across layers; shipped code may not.
    exclude: { path: TEST_CODE },
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
