import { defineErrorCodes } from './errors.ts';

/**
 * Failures the HTTP platform itself produces, before or around any domain route, and
 * the generic ones (`bad_request`, `validation_failed`, `unauthorized`) services answer
 * too. Here, not in http/, so that no service imports the HTTP layer to name them.
 * Documented in docs/errors.md, section "HTTP platform".
 */
export const HttpErrors = defineErrorCodes({
  bad_request: { status: 400, title: 'Bad request' },
  malformed_json: { status: 400, title: 'Malformed JSON' },
  validation_failed: { status: 400, title: 'Validation failed' },
  json_too_deep: { status: 400, title: 'JSON nested too deeply' },
  invalid_characters: { status: 400, title: 'Invalid characters' },
  unauthorized: { status: 401, title: 'Unauthorized' },
  not_found: { status: 404, title: 'Not found' },
  method_not_allowed: { status: 405, title: 'Method not allowed' },
  body_too_large: { status: 413, title: 'Request body too large' },
  uri_too_long: { status: 414, title: 'URI too long' },
  unsupported_media_type: { status: 415, title: 'Unsupported media type' },
  unsupported_content_encoding: { status: 415, title: 'Unsupported content encoding' },
  internal_error: { status: 500, title: 'Internal server error' },
  service_unavailable: { status: 503, title: 'Service unavailable' },
});
