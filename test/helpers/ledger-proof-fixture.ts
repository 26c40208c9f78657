import { generatedEventId } from '../../src/events/event-id.ts';
import type { Database } from '../../src/storage/open-database.ts';
import { positionsOf } from './ledger-fixture.ts';

/** A proof as GET /api/v1/ledger/proof answers it (docs/ledger.md, "Proving one event"). */
export interface ProofJson {
  log: 'events' | 'audit';
  partition: string;
  event: Record<string, unknown> & { id: string; position: number };
  hash: string;
  previous_hash: string;
  segment: {
    event: Record<string, unknown> & { position: number };
    canonical: string;
    hash: string;
  }[];
  checkpoint: {
    partition: string;
    position: number;
    hash: string;
    timestamp: string;
    kid: string;
    jws: string;
  };
  key: Record<string, string>;
}

/** The ids of a partition's events, in position order (appended without client ids). */
export async function eventIdsOf(db: Database, partition: string): Promise<string[]> {
  return (await positionsOf(db, partition)).map(generatedEventId);
}
