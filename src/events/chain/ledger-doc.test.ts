import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';
import type { StoredEvent } from '../model.ts';
import { canonicalEvent } from './canonical-event.ts';
import { chainHash, GENESIS_HASH } from './chain-hash.ts';

const page = readFileSync(new URL('../../../docs/ledger.md', import.meta.url), 'utf8');

/** The fenced block after `<!-- ledger-example: name -->`, without its fences. */
function example(name: string): string {
  const found = new RegExp(
    `<!-- ledger-example: ${name} -->\\n\`\`\`\\w*\\n([\\s\\S]*?)\\n\`\`\`\\n`,
  ).exec(page);
  assert.ok(found?.[1], `docs/ledger.md has no "${name}" example block`);
  return found[1];
}

it("docs/ledger.md's worked example is what the code computes", () => {
  const event = JSON.parse(example('event')) as StoredEvent;
  const canonical = example('canonical');
  assert.equal(canonicalEvent(event), canonical, 'the canonical form shown');
  assert.equal(chainHash(GENESIS_HASH, event), example('hash'), 'the hash shown');
  const bytes = /one line of (\d+) bytes/.exec(page)?.[1];
  assert.equal(Number(bytes), Buffer.byteLength(canonical), 'the length shown');
});
