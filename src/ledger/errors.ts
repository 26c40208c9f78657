import { defineErrorCodes } from '../platform/errors.ts';

/** Failures of the ledger's routes; documented in docs/errors.md. */
export const LedgerErrors = defineErrorCodes({
  ledger_cursor_invalid: { status: 400, title: 'Ledger cursor invalid' },
  ledger_range_invalid: { status: 400, title: 'Ledger range invalid' },
  /** `tessera ledger verify --jwks`: the key set given cannot be read or is not a JWKS. */
  ledger_jwks_invalid: { status: 400, title: 'Ledger JWKS invalid' },
  ledger_proof_too_long: { status: 409, title: 'Ledger proof too long' },
  ledger_checkpoint_pending: { status: 409, title: 'Ledger checkpoint pending' },
  ledger_event_unchained: { status: 409, title: 'Ledger event unchained' },
});
