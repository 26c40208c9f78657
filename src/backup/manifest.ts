import type { Column } from '../storage/backup/adapter.ts';
import { ENGINES, type Engine } from '../storage/database.ts';
import type { EncryptionInfo } from './backup-key.ts';

export const MANIFEST_NAME = 'manifest.json';
/** The manifest's own SHA-256 (hex), so a changed byte in it is found too. */
export const MANIFEST_SUM_NAME = 'manifest.json.sha256';
export const FORMAT = 'tessera-backup';
/**
 * 2: signed (`signature` names the key; the MAC is the `manifest.json.hmac` entry).
 * 1: unsigned, read only when the operator allows unsigned backups.
 */
export const FORMAT_VERSION = 2;
export const UNSIGNED_FORMAT_VERSION = 1;

export interface ManifestPart {
  readonly table: string;
  /** The tar entry holding the table's rows. */
  readonly part: string;
  readonly columns: readonly Column[];
  readonly rows: number;
  /** Stored size: compressed, and encrypted when the backup is. */
  readonly bytes: number;
  /** SHA-256 (hex) of the stored bytes. */
  readonly sha256: string;
}

/** How a backup is authenticated (backup-signature.ts); the MAC itself is stored beside. */
export interface SignatureInfo {
  readonly algorithm: 'HMAC-SHA256';
  /** Names the key without revealing it. */
  readonly key_id: string;
  /** `backup.signing_key`, or a key derived from the deployment's master key. */
  readonly key_source: 'signing_key' | 'master_key';
}

export interface EventRange {
  readonly count: number;
  /** Lowest and highest event position held, null without events. */
  readonly first_position: number | null;
  readonly last_position: number | null;
  /** The log head: the last position ever assigned (events may have been removed since). */
  readonly head_position: number;
}

export interface Manifest {
  readonly format: typeof FORMAT;
  readonly format_version: number;
  readonly id: string;
  readonly created_at: string;
  readonly tessera_version: string;
  readonly engine: Engine;
  readonly schema_version: number;
  readonly deployment_id: string | null;
  readonly events: EventRange;
  readonly encryption: EncryptionInfo | null;
  /** Absent in format version 1 (unsigned). */
  readonly signature?: SignatureInfo;
  readonly tables: readonly ManifestPart[];
}

/** The manifest's JSON, checked enough that the code reading it can trust its shape. */
export function parseManifest(text: string): Manifest {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error(`${MANIFEST_NAME} is not valid JSON`);
  }
  const manifest = value as Manifest;
  const problem = manifestProblem(manifest);
  if (problem) throw new Error(`${MANIFEST_NAME} is not a Tessera backup manifest: ${problem}`);
  return manifest;
}

const isCount = (value: unknown) => Number.isSafeInteger(value) && (value as number) >= 0;

function manifestProblem(m: Manifest): string | undefined {
  if (typeof m !== 'object' || m === null) return 'not an object';
  if (m.format !== FORMAT) return `format is ${JSON.stringify(m.format)}`;
  if (m.format_version !== FORMAT_VERSION && m.format_version !== UNSIGNED_FORMAT_VERSION) {
    return `format version ${JSON.stringify(m.format_version)} is not ${UNSIGNED_FORMAT_VERSION} or ${FORMAT_VERSION}, the ones this Tessera reads`;
  }
  if (m.format_version === FORMAT_VERSION && signatureProblem(m.signature)) {
    return `bad signature: ${signatureProblem(m.signature)}`;
  }
  if (m.format_version === UNSIGNED_FORMAT_VERSION && m.signature !== undefined) {
    return `format version ${UNSIGNED_FORMAT_VERSION} has no signature`;
  }
  if (typeof m.id !== 'string' || typeof m.created_at !== 'string') return 'no id or created_at';
  if (!(ENGINES as readonly unknown[]).includes(m.engine)) return 'unknown engine';
  if (!isCount(m.schema_version)) return 'bad schema_version';
  if (typeof m.events !== 'object' || !isCount(m.events?.count)) return 'bad events';
  if (!Array.isArray(m.tables)) return 'no tables';
  for (const part of m.tables) {
    if (
      typeof part?.table !== 'string' ||
      typeof part.part !== 'string' ||
      !Array.isArray(part.columns) ||
      !isCount(part.rows) ||
      !isCount(part.bytes) ||
      !/^[0-9a-f]{64}$/.test(String(part.sha256))
    ) {
      return `bad entry for table ${JSON.stringify(part?.table)}`;
    }
  }
  return undefined;
}

function signatureProblem(info: SignatureInfo | undefined): string | undefined {
  if (typeof info !== 'object' || info === null) return 'missing';
  if (info.algorithm !== 'HMAC-SHA256')
    return `unknown algorithm ${JSON.stringify(info.algorithm)}`;
  if (!/^[0-9a-f]{16}$/.test(String(info.key_id))) return 'bad key_id';
  if (info.key_source !== 'signing_key' && info.key_source !== 'master_key')
    return 'bad key_source';
  return undefined;
}
