import type { FastifyBaseLogger } from 'fastify';
import { type Kysely, sql } from 'kysely';
import type { AuditContext } from '../access/audit-context.ts';
import { isTesseraError } from '../platform/errors.ts';
import type { DatabaseBase } from '../storage/database.ts';
import type { Tables } from '../storage/tables.ts';
import type { BackupMetrics } from './backup-metrics.ts';
import { BackupErrors } from './errors.ts';
import type { BackupService } from './service.ts';

/** Who scheduled backups and their pruning are recorded as in the audit trail. */
export const SCHEDULER_AUDIT_CONTEXT: AuditContext = Object.freeze({
  actor: 'scheduler',
  actor_type: 'system',
  ip: null,
  user_agent: null,
  request_id: null,
});

/** The `tessera_meta` key holding when a node last claimed a scheduled backup (ms). */
export const SLOT_KEY = 'backup_last_scheduled_ms';

/** Node's timers take at most this (about 24.8 days); a longer delay would fire at once. */
const MAX_TIMER_MS = 2_147_483_647;

/** After a claim that failed (database unreachable), try again this soon at the latest. */
const RETRY_MS = 60_000;

const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** `backup.interval` ('30s', '6h', '1d') in milliseconds; undefined for '' (no schedule). */
export function parseInterval(text: string): number | undefined {
  if (text === '') return undefined;
  const match = /^([1-9][0-9]*)([smhd])$/.exec(text);
  if (!match) throw new Error(`backup.interval must be like 30s, 6h or 1d, not ${text}`);
  return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
}

type MetaTables = Pick<Tables, 'tessera_meta'>;

/**
 * Claims the slot starting at `now` for this node, in one atomic upsert: it only
 * writes when no node has claimed within the last interval, so of several nodes on
 * one database exactly one wins each slot. `tolerance` lets a timer that fires a
 * hair early (wall clock against timer clock) still win its own next slot.
 */
export async function claimSlot(
  db: Pick<DatabaseBase, 'kysely'>,
  now: number,
  intervalMs: number,
  tolerance: number,
): Promise<boolean> {
  const kysely: Kysely<MetaTables> = db.kysely;
  const result = await kysely
    .insertInto('tessera_meta')
    .values({ key: SLOT_KEY, value: String(now) })
    .onConflict((conflict) =>
      conflict
        .column('key')
        .doUpdateSet({ value: (eb) => eb.ref('excluded.value') })
        .where(sql<number>`cast(tessera_meta.value as bigint)`, '<=', now - intervalMs + tolerance),
    )
    .executeTakeFirst();
  return Number(result.numInsertedOrUpdatedRows ?? 0n) > 0;
}

/** When the last slot was claimed (ms), by any node; undefined when never. */
async function lastClaim(db: Pick<DatabaseBase, 'kysely'>): Promise<number | undefined> {
  const kysely: Kysely<MetaTables> = db.kysely;
  const row = await kysely
    .selectFrom('tessera_meta')
    .select('value')
    .where('key', '=', SLOT_KEY)
    .executeTakeFirst();
  return row ? Number(row.value) : undefined;
}

export interface BackupScheduleOptions {
  readonly db: Pick<DatabaseBase, 'kysely'>;
  readonly backups: Pick<BackupService, 'create' | 'prune' | 'retention'>;
  readonly intervalMs: number;
  readonly log: FastifyBaseLogger;
  readonly metrics?: Pick<BackupMetrics, 'scheduleFailed'> | undefined;
  readonly now?: () => number;
}

export interface BackupSchedule {
  /** No further runs; resolves once a run in progress has finished. */
  stop(): Promise<void>;
}

/**
 * Takes a backup every interval, then prunes by the configured retention. The first
 * run is due at once unless some node took one within the last interval, so a
 * restart neither loses nor repeats a slot. Runs follow one another on a node (one
 * that overruns the interval skips the slots it overlapped); failures are logged and
 * counted, never thrown, and the timer never keeps the process alive.
 */
export function startBackupSchedule(options: BackupScheduleOptions): BackupSchedule {
  const { db, backups, intervalMs, log } = options;
  const now = options.now ?? Date.now;
  const tolerance = Math.min(1000, Math.floor(intervalMs / 10));
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;

  const plan = (delayMs: number) => {
    if (stopped) return;
    // Waking before the slot is due (a capped timer) just finds the claim refused.
    timer = setTimeout(tick, Math.min(intervalMs, MAX_TIMER_MS, Math.max(0, delayMs)));
    timer.unref();
  };

  const tick = () => {
    timer = undefined;
    running = attempt()
      .then(plan)
      .finally(() => {
        running = undefined;
      });
  };

  /** One due slot: claim it and run, or learn when the winner's next slot is due. Returns the delay to the next attempt. */
  async function attempt(): Promise<number> {
    const startedAt = now();
    try {
      if (!(await claimSlot(db, startedAt, intervalMs, tolerance))) {
        const last = (await lastClaim(db)) ?? startedAt;
        const delay = Math.max(tolerance, last + intervalMs - now());
        log.debug({ next_in_ms: delay }, 'scheduled backup: another node has this slot');
        return delay;
      }
    } catch (error) {
      log.error({ err: error }, 'scheduled backup: claiming the slot failed');
      options.metrics?.scheduleFailed(error);
      return RETRY_MS;
    }
    await run();
    // A run longer than the interval skips the slots it overlapped.
    const elapsed = now() - startedAt;
    return intervalMs - (elapsed % intervalMs);
  }

  async function run(): Promise<void> {
    try {
      const file = await backups.create(SCHEDULER_AUDIT_CONTEXT);
      log.info({ backup_id: file.id, size_bytes: file.size }, 'scheduled backup made');
    } catch (error) {
      if (isTesseraError(error) && error.code === BackupErrors.backup_in_progress) {
        log.warn('scheduled backup skipped: a backup is already being made on this node');
      } else {
        // Counted by the service's observer, like any failed backup.
        log.error({ err: error }, 'scheduled backup failed');
      }
      return;
    }
    const { keepCount, keepDays } = backups.retention;
    if (keepCount <= 0 && keepDays <= 0) return;
    try {
      const pruned = await backups.prune(SCHEDULER_AUDIT_CONTEXT);
      if (pruned.length > 0) {
        log.info({ backup_ids: pruned.map((backup) => backup.id) }, 'old backups pruned');
      }
    } catch (error) {
      log.error({ err: error }, 'scheduled backup: pruning old backups failed');
      options.metrics?.scheduleFailed(error);
    }
  }

  plan(0);
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      timer = undefined;
      await running;
    },
  };
}
