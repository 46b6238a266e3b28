/**
 * SQL for device files. Foreign table read here: `devices` (devices module), joined for the
 * device's name in lists, so a page of files is one query.
 */
import type { Queryable } from '../../platform/db/database.js';

export interface FileRow {
  id: string;
  org_id: string;
  device_id: string;
  device_name: string;
  name: string;
  size: string;
  declared_type: string | null;
  content_type: string | null;
  state: 'uploading' | 'stored';
  storage_key: string;
  created_at: Date;
  stored_at: Date | null;
}

export interface FileFilter {
  deviceId?: string;
  state?: 'uploading' | 'stored';
  /** A content-type prefix, e.g. `video/`. */
  type?: string;
  from?: Date;
  to?: Date;
  limit: number;
  offset: number;
}

const SELECT = `SELECT f.*, d.name AS device_name FROM device_files f JOIN devices d ON d.id = f.device_id`;

export class FilesRepository {
  constructor(private readonly db: Queryable) {}

  async byId(id: string): Promise<FileRow | null> {
    const [r] = await this.db.query<FileRow>(`${SELECT} WHERE f.id = $1`, [id]);
    return r ?? null;
  }

  async byName(deviceId: string, name: string): Promise<FileRow | null> {
    const [r] = await this.db.query<FileRow>(`${SELECT} WHERE f.device_id = $1 AND f.name = $2`, [deviceId, name]);
    return r ?? null;
  }

  /** The files of these names in the device's folder (those it has; uploading or stored). */
  async byNames(deviceId: string, names: string[]): Promise<FileRow[]> {
    if (names.length === 0) return [];
    return this.db.query<FileRow>(`${SELECT} WHERE f.device_id = $1 AND f.name = ANY($2::text[])`, [deviceId, names]);
  }

  /** Bytes the org's files hold or have reserved (an upload's declared size counts from its start). */
  async usage(orgId: string): Promise<number> {
    const [r] = await this.db.query<{ n: string }>('SELECT coalesce(sum(size), 0)::int8 AS n FROM device_files WHERE org_id = $1', [orgId]);
    return Number(r?.n ?? 0);
  }

  async insert(f: { id: string; orgId: string; deviceId: string; name: string; size: number; declaredType: string | null; storageKey: string }) {
    await this.db.query(
      `INSERT INTO device_files (id, org_id, device_id, name, size, declared_type, state, storage_key) VALUES ($1, $2, $3, $4, $5, $6, 'uploading', $7)`,
      [f.id, f.orgId, f.deviceId, f.name, f.size, f.declaredType, f.storageKey],
    );
  }

  async markStored(id: string, contentType: string): Promise<FileRow | null> {
    await this.db.query(`UPDATE device_files SET state = 'stored', content_type = $2, stored_at = now() WHERE id = $1 AND state = 'uploading'`, [
      id,
      contentType,
    ]);
    return this.byId(id);
  }

  async delete(id: string): Promise<boolean> {
    const r = await this.db.query<{ id: string }>('DELETE FROM device_files WHERE id = $1 RETURNING id', [id]);
    return r.length > 0;
  }

  async list(orgId: string, f: FileFilter): Promise<{ items: FileRow[]; total: number }> {
    const where = ['f.org_id = $1'];
    const params: unknown[] = [orgId];
    const add = (clause: string, v: unknown) => {
      params.push(v);
      where.push(clause.replace('?', `$${params.length}`));
    };
    if (f.deviceId) add('f.device_id = ?', f.deviceId);
    if (f.state) add('f.state = ?', f.state);
    if (f.type) add("coalesce(f.content_type, f.declared_type, '') LIKE ? || '%'", f.type);
    if (f.from) add('f.created_at >= ?', f.from);
    if (f.to) add('f.created_at <= ?', f.to);
    const cond = where.join(' AND ');
    const items = await this.db.query<FileRow>(`${SELECT} WHERE ${cond} ORDER BY f.created_at DESC, f.id LIMIT ${f.limit} OFFSET ${f.offset}`, params);
    const [c] = await this.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM device_files f WHERE ${cond}`, params);
    return { items, total: c?.n ?? 0 };
  }

  /** Stored files older than the retention, and uploads abandoned before finishing: a batch of each. */
  async expired(storedBefore: Date | null, uploadingBefore: Date, limit: number): Promise<FileRow[]> {
    return this.db.query<FileRow>(
      `${SELECT} WHERE (f.state = 'uploading' AND f.created_at < $1) ${storedBefore ? "OR (f.state = 'stored' AND f.stored_at < $2)" : ''}
       ORDER BY f.created_at LIMIT ${limit}`,
      storedBefore ? [uploadingBefore, storedBefore] : [uploadingBefore],
    );
  }
}
