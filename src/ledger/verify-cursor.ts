import { TesseraError } from '../platform/errors.ts';
import { LedgerErrors } from './errors.ts';

/** A tenant's two partitions, in the order a verification walks them. */
export const PARTITION_KINDS = ['events', 'audit'] as const;
export type PartitionKind = (typeof PARTITION_KINDS)[number];

/** Where a verification continues: in which partition, after which position. */
export interface VerifyCursor {
  readonly partition: PartitionKind;
  readonly after: number;
}

/**
 * Opaque to clients: base64url of `{"p":"events","a":1234}`. It carries no hash: the
 * next request starts from the stored hash at that position, as a `from` would, so a
 * made-up cursor can only choose where to look, never what the chain is checked against.
 */
export function encodeCursor(cursor: VerifyCursor): string {
  return Buffer.from(JSON.stringify({ p: cursor.partition, a: cursor.after })).toString(
    'base64url',
  );
}

const BASE64URL = /^[A-Za-z0-9_-]{1,200}$/;

/** The cursor a previous answer gave, or ledger_cursor_invalid (400). */
export function decodeCursor(text: string): VerifyCursor {
  const invalid = () =>
    new TesseraError(
      LedgerErrors.ledger_cursor_invalid,
      'The cursor is not one this API gave: pass the `next_cursor` of the previous answer unchanged.',
    );
  if (!BASE64URL.test(text)) throw invalid();
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw invalid();
  const { p, a, ...rest } = value as Record<string, unknown>;
  if (Object.keys(rest).length > 0) throw invalid();
  if (!PARTITION_KINDS.includes(p as PartitionKind)) throw invalid();
  if (typeof a !== 'number' || !Number.isSafeInteger(a) || a < 0) throw invalid();
  return { partition: p as PartitionKind, after: a };
}
