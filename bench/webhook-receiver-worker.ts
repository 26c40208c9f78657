import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import type { ReceiverSpec } from './webhook-receivers.ts';

/**
 * Webhook receivers for the bench, on their own thread: node:http servers on
 * 127.0.0.1 that read each request body and answer 204 at once. They count what they
 * got in shared memory (requests and body bytes per server), so the bench polls the
 * counts without a message round trip.
 */
const spec = workerData as ReceiverSpec;
const counts = new Int32Array(spec.counters);

function receiver(index: number): Promise<Server> {
  const server = createServer((request, response) => {
    let bytes = 0;
    request.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
    });
    request.on('end', () => {
      response.writeHead(204).end();
      Atomics.add(counts, index * 2, 1);
      Atomics.add(counts, index * 2 + 1, bytes);
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

const servers = await Promise.all(Array.from({ length: spec.servers }, (_, i) => receiver(i)));
parentPort?.postMessage(servers.map((server) => (server.address() as AddressInfo).port));
