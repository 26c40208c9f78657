import { testEngines, testStorageConfig } from '../../test/helpers/test-database.ts';
import { databaseContract } from './database.contract.ts';

for (const engine of testEngines()) {
  databaseContract(engine, (overrides) => testStorageConfig(engine, overrides));
}
