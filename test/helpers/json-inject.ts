import type { TesseraApp } from '../../src/app.ts';

// biome-ignore lint/suspicious/noExplicitAny: tests read answers' JSON freely, asserting as they go
type Json = any;

export interface JsonInjectRequest {
  readonly method: string;
  readonly url: string;
  /** Sent as `x-api-key`. */
  readonly key: string;
  /** Sent as JSON when given. */
  readonly body?: unknown;
}

export interface JsonInjectReply {
  readonly status: number;
  /** The answer parsed as JSON; `undefined` when it is empty or not JSON. */
  readonly json: Json;
  readonly headers: Record<string, unknown>;
}

/** One request through `app.inject` with an API key, its answer's JSON read tolerantly. */
export async function injectJson(
  app: Pick<TesseraApp, 'inject'>,
  request: JsonInjectRequest,
): Promise<JsonInjectReply> {
  const response = await app.inject({
    method: request.method as 'GET',
    url: request.url,
    headers: { 'x-api-key': request.key },
    ...(request.body === undefined ? {} : { payload: request.body as object }),
  });
  let json: unknown;
  try {
    json = response.json();
  } catch {
    json = undefined;
  }
  return { status: response.statusCode, json, headers: response.headers };
}
