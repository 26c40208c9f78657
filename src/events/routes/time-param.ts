import { validationFailed } from '../../platform/validation-failed.ts';

/** A validated RFC 3339 query parameter as epoch ms; the schema checked its format already. */
export function timeParam(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  if (Number.isFinite(ms)) return ms;
  const errors = [{ path: `/querystring/${name}`, message: 'must be an RFC 3339 date-time' }];
  throw validationFailed(errors, 'querystring');
}
