import { randomUUID } from 'node:crypto';

/** Client-supplied request ids are echoed only when short and made of safe characters. */
const SAFE_REQUEST_ID = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

export function isSafeRequestId(value: unknown): value is string {
  return typeof value === 'string' && SAFE_REQUEST_ID.test(value);
}

export function newRequestId(): string {
  return randomUUID();
}
