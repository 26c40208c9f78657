import { testEngines, testStorageConfig } from '../../test/helpers/test-database.ts';
import { changeFeedContract } from './change-feed.contract.ts';

for (const engine of testEngines()) {
  changeFeedContract(engine, (overrides) => testStorageConfig(engine, overrides));
}
