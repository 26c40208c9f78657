/** Where a long backup, verify or restore is, for a progress bar or log lines. */
export interface BackupProgress {
  readonly phase: 'backup' | 'verify' | 'restore' | 'chain';
  readonly table: string;
  /** Rows of `table` done so far, of `tableRows`. */
  readonly rows: number;
  readonly tableRows: number;
  /** Rows of every table done so far, of `totalRows`. */
  readonly doneRows: number;
  readonly totalRows: number;
}

export type OnProgress = (progress: BackupProgress) => void;
