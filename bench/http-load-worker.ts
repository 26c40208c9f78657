import { parentPort, workerData } from 'node:worker_threads';
import { type LoadSpec, loadRequests } from './http-load.ts';

parentPort?.postMessage(await loadRequests(workerData as LoadSpec));
