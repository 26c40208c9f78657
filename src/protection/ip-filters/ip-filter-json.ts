import type { IpFilterRecord } from './ip-filter-store.ts';

/** An entry as the API and the CLI's `--json` show it. */
export const toIpFilter = (record: IpFilterRecord) => ({
  id: record.id,
  scope: record.tenant_id === null ? ('global' as const) : ('tenant' as const),
  tenant_id: record.tenant_id,
  cidr: record.cidr,
  action: record.action,
  reason: record.reason,
  created_by: record.created_by,
  created_by_type: record.created_by_type,
  created_at: new Date(record.created_ms).toISOString(),
});
