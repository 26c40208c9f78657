import { parentPort, workerData } from 'node:worker_threads';
import { loadGet } from './http-load.ts';

const { url, concurrency, durationMs } = workerData as {
  url: string;
  concurrency: number;
  durationMs: number;
};
parentPort?.postMessage(await loadGet(url, concurrency, durationMs));
