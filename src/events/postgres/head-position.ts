import type pg from 'pg';

export async function headPosition(pool: pg.Pool): Promise<number> {
  const { rows } = await pool.query<{ position: number }>({
    name: 'tessera_events_head_position',
    text: 'SELECT position FROM event_log_head WHERE id = 1',
  });
  return rows[0]?.position ?? 0;
}
