import assert from 'node:assert/strict';
import { it } from 'node:test';
import { generatedEventId, isReservedEventId, positionOfGeneratedId } from './event-id.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

it('generated ids are UUIDv8 strings that decode to their position', () => {
  for (const position of [1, 2, 255, 256, 65_536, 1_000_000_007, 2 ** 53 - 1]) {
    const id = generatedEventId(position);
    assert.match(id, UUID);
    assert.equal(positionOfGeneratedId(id), position);
    assert.ok(isReservedEventId(id));
  }
  assert.ok(generatedEventId(1) < generatedEventId(2), 'ids sort like positions');
});

it('other UUIDs decode to nothing', () => {
  assert.equal(positionOfGeneratedId('0b6f1b0e-6f0e-4d8e-9b7e-2f4c1c1f3a55'), undefined);
  assert.equal(
    positionOfGeneratedId('7e55e7a0-0000-8000-8000-000000000000'),
    undefined,
    'position 0',
  );
  assert.equal(positionOfGeneratedId('7e55e7a0-0000-8000-80zz-000000000001'), undefined);
  assert.ok(isReservedEventId('7E55E7A0-0000-8000-8000-000000000001'), 'case-insensitive');
  assert.ok(!isReservedEventId('0b6f1b0e-6f0e-4d8e-9b7e-2f4c1c1f3a55'));
});
