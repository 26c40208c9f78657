import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MIGRATIONS } from '../migrations/index.ts';
import { type Migration, validateMigrations } from './migrate.ts';

const step = (version: number, name = `step-${version}`): Migration => ({
  version,
  name,
  sqlite: 'SELECT 1;',
  postgres: 'SELECT 1;',
});

describe('validateMigrations', () => {
  it('accepts the shipped list and any strictly increasing list', () => {
    validateMigrations(MIGRATIONS);
    validateMigrations([]);
    validateMigrations([step(1), step(2), step(10)]);
  });

  it('refuses duplicates, disorder, non-positive or fractional versions', () => {
    assert.throws(() => validateMigrations([step(1), step(1)]), /migration 1 must come after 1/);
    assert.throws(() => validateMigrations([step(2), step(1)]), /migration 1 must come after 2/);
    assert.throws(() => validateMigrations([step(0)]), /positive integer/);
    assert.throws(() => validateMigrations([step(1.5)]), /positive integer/);
  });

  it('refuses a missing name or a missing engine script', () => {
    assert.throws(() => validateMigrations([step(1, ' ')]), /migration 1 has no name/);
    assert.throws(() => validateMigrations([{ ...step(1), postgres: '' }]), /needs SQL for both/);
  });
});
