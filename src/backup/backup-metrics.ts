import { Counter, Gauge, type Registry } from 'prom-client';
import type { BackupObserver } from './service.ts';

export interface BackupMetrics extends BackupObserver {
  /** A scheduled run that failed outside the backup itself (its claim, or pruning). */
  scheduleFailed(error: unknown): void;
}

/**
 * The backup gauges and failure counter in `registry`, fed by the backup service.
 * Per node: each reports the backups it made itself, so with several nodes an alert
 * on the age of the last backup takes the newest across them (`max(...)`).
 */
export function backupMetrics(registry: Registry): BackupMetrics {
  const registers = [registry];
  const lastSuccess = new Gauge({
    name: 'backup_last_success_timestamp_seconds',
    help: 'When the last backup this node made finished (Unix time, seconds); 0 before the first.',
    registers,
  });
  const lastSize = new Gauge({
    name: 'backup_last_success_size_bytes',
    help: 'Size of the file of the last backup this node made, in bytes.',
    registers,
  });
  const lastDuration = new Gauge({
    name: 'backup_last_duration_seconds',
    help: 'How long the last backup this node made took, in seconds.',
    registers,
  });
  const failures = new Counter({
    name: 'backup_failures_total',
    help: 'Backups this node failed to make (on request or scheduled), and scheduled runs whose slot claim or pruning failed.',
    registers,
  });
  return {
    succeeded(file, seconds) {
      lastSuccess.set(Date.now() / 1000);
      lastSize.set(file.size);
      lastDuration.set(seconds);
    },
    failed: () => failures.inc(),
    scheduleFailed: () => failures.inc(),
  };
}
