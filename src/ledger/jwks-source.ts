import { readFile } from 'node:fs/promises';
import type { JWK } from 'jose';
import { TesseraError } from '../platform/errors.ts';
import { LedgerErrors } from './errors.ts';

/** A JWKS larger than this is no key set Tessera published (a handful of keys, ~200 bytes each). */
export const MAX_JWKS_BYTES = 1024 * 1024;
/** One fetch, bounded: an auditor's command must not hang on a server that never answers. */
export const JWKS_FETCH_TIMEOUT_MS = 10_000;

/**
 * The Ed25519 public keys of a JWKS (RFC 7517 §5) an auditor trusts: a file, or an
 * http(s) URL fetched once (with a timeout and a size cap), e.g. a copy of
 * `GET /api/v1/ledger/keys`. Other keys in the set are ignored; a key without a
 * `kid` can verify nothing (a checkpoint names its key by kid). Fails with
 * `ledger_jwks_invalid` when the source cannot be read or is not a JWKS.
 */
export async function loadJwks(source: string): Promise<readonly JWK[]> {
  const text = /^https?:\/\//i.test(source) ? await fetchJwks(source) : await readJwks(source);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw invalid(`${source} is not JSON.`);
  }
  const keys = (value as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) throw invalid(`${source} is not a JWKS: it has no "keys" array.`);
  return keys.filter(
    (key): key is JWK =>
      typeof key === 'object' &&
      key !== null &&
      key.kty === 'OKP' &&
      key.crv === 'Ed25519' &&
      typeof key.x === 'string' &&
      typeof key.kid === 'string',
  );
}

async function readJwks(path: string): Promise<string> {
  try {
    const bytes = await readFile(path);
    if (bytes.length > MAX_JWKS_BYTES) throw invalid(`${path} is over ${MAX_JWKS_BYTES} bytes.`);
    return bytes.toString('utf8');
  } catch (error) {
    if (error instanceof TesseraError) throw error;
    throw invalid(`${path} cannot be read: ${(error as Error).message}`);
  }
}

async function fetchJwks(url: string): Promise<string> {
  try {
    const response = await fetch(url, {
      signal: AbortSignal.timeout(JWKS_FETCH_TIMEOUT_MS),
      headers: { accept: 'application/json' },
    });
    if (!response.ok) throw invalid(`${url} answered ${response.status}.`);
    if (!response.body) return '';
    // Read with a cap: a Content-Length may be missing or wrong.
    const chunks: Uint8Array[] = [];
    let size = 0;
    for await (const chunk of response.body) {
      size += chunk.length;
      if (size > MAX_JWKS_BYTES) throw invalid(`${url} sent over ${MAX_JWKS_BYTES} bytes.`);
      chunks.push(chunk);
    }
    return Buffer.concat(chunks).toString('utf8');
  } catch (error) {
    if (error instanceof TesseraError) throw error;
    throw invalid(`${url} cannot be fetched: ${(error as Error).message}`);
  }
}

function invalid(detail: string): TesseraError {
  return new TesseraError(
    LedgerErrors.ledger_jwks_invalid,
    `${detail} Give --jwks a JWKS file or URL, such as a saved GET /api/v1/ledger/keys.`,
  );
}
