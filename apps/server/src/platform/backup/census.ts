/** What a backup records of a database, and restore checks again: its rows per table and its schema migrations. Both engines. */

type Rows = (sql: string) => Promise<Array<Record<string, unknown>>>;

/** Rows per table of the public schema (a partitioned table counts its partitions; they are not listed apart). */
export async function countRows(query: Rows): Promise<Record<string, number>> {
  const tables = await query(
    `SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY c.relname`,
  );
  const counts: Record<string, number> = {};
  for (const t of tables) {
    const name = String(t.name);
    const rows = await query(`SELECT count(*)::int AS n FROM public."${name.replaceAll('"', '""')}"`);
    counts[name] = Number(rows[0]!.n);
  }
  return counts;
}

export async function appliedMigrations(query: Rows): Promise<string[]> {
  const exists = await query("SELECT to_regclass('public.schema_migrations') IS NOT NULL AS present");
  if (!exists[0]!.present) return [];
  return (await query('SELECT version FROM public.schema_migrations ORDER BY version')).map((r) => String(r.version));
}
