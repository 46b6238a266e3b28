import fs from 'node:fs';
import path from 'node:path';
import { FILE_NAME_PATTERN } from '@tether/contracts';
import { FileStore } from '@tus/file-store';
import type { Database } from '../../platform/db/database.js';
import type { RangedBody } from '../../platform/http/ranged.js';
import type { Logger } from '../../platform/observability/logger.js';
import type { JwtSigner } from '../../platform/security/jwt.js';
import type { FileStorage } from '../../platform/storage/file-storage.js';
import { requireRole, type Actor } from '../accounts/actor.js';
import { AuditLog } from '../audit/audit.repository.js';
import type { DeviceIdentity } from '../devices/devices.repository.js';
import { AppError, assertUuid, isUuid } from '../errors.js';
import { parseTime } from '../telemetry/telemetry.service.js';
import { checkContentType, isInlineMedia, SNIFF_BYTES } from './content-type.js';
import { FilesRepository, type FileRow } from './files.repository.js';
import type { DeviceFile, DeviceFilePage, EventFile, FileQuery, FileUsage } from './files.schemas.js';

export interface FilesServiceDeps {
  db: Database;
  storage: FileStorage;
  /** This node's disk, where resumable uploads collect until their last byte (then they move to the storage). */
  stagingDir: string;
  signer: JwtSigner;
  logger: Logger;
  /** Bytes an org's files may hold, uploads in progress counted at their declared size. */
  quotaBytes: number;
  maxFileBytes: number;
  /** Stored files older than this many days are deleted; 0 keeps them. */
  retentionDays: number;
  /** An upload not finished in this long is abandoned: its row and bytes go. */
  abandonAfterS?: number;
}

const LINK_AUDIENCE = 'tether-file';
/** A file's signed `url` lasts this long: long enough to watch a video from the alert's page. */
const LINK_TTL_S = 6 * 3600;
const NAME_RE = new RegExp(FILE_NAME_PATTERN);
const storageKey = (id: string) => `device-files/${id}`;
/** Finished uploads moved into a bucket at once: each streams parts of 8 MB, two in flight. */
const ADOPTING_AT_ONCE = 4;

const notFound = (what: string) => new AppError('FILE_NOT_FOUND', `no file ${what}`);

/**
 * Device files (issue 15): what devices upload (videos, images, logs), resumable, in the
 * device's folder, within the org's quota, typed from their bytes, kept for the retention.
 * The upload protocol itself (tus) is files.uploads.ts; this is what it decides with.
 */
export class FilesService {
  private readonly repo: FilesRepository;
  /** The tus store of uploads in progress (files.uploads.ts): the upload's id is the file's. */
  readonly uploads: FileStore;
  private adopting = 0;
  private readonly finishing = new Map<string, Promise<DeviceFile>>();
  private readonly adoptQueue: (() => void)[] = [];

  constructor(private readonly deps: FilesServiceDeps) {
    this.repo = new FilesRepository(deps.db);
    fs.mkdirSync(deps.stagingDir, { recursive: true });
    this.uploads = new FileStore({ directory: deps.stagingDir });
  }

  get maxFileBytes(): number {
    return this.deps.maxFileBytes;
  }

  // ---- device side (the upload) -------------------------------------------------------

  /**
   * Reserves a file in the device's folder before any byte is stored: the name must be a
   * file name, the size declared, within the largest file and the org's quota. A name with an
   * unfinished upload is an upload started again: the old one's row and bytes go. A name
   * already stored is FILE_EXISTS (the device lost the last answer, or reuses a name).
   */
  async reserve(device: DeviceIdentity, f: { id: string; name: string | undefined; size: number | undefined; declaredType: string | null }) {
    const id = f.id;
    if (!f.name || !NAME_RE.test(f.name)) {
      throw new AppError('FILE_NAME_INVALID', 'Upload-Metadata needs `filename`: letters, digits, ".", "_", "-", at most 200, no "/" or ".."');
    }
    if (f.size === undefined || !Number.isSafeInteger(f.size))
      throw new AppError('FILE_SIZE_REQUIRED', 'send Upload-Length: the size must be known at the start');
    if (f.size > this.deps.maxFileBytes) throw new AppError('PAYLOAD_TOO_LARGE', `a file may have at most ${this.deps.maxFileBytes} bytes`);
    const declaredType = f.declaredType?.slice(0, 200) || null;
    const stale = await this.deps.db.transaction(async (tx) => {
      // One reservation per org at a time, so two concurrent uploads cannot both fit the last of the quota.
      await tx.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`tether.files.${device.orgId}`]);
      const repo = new FilesRepository(tx);
      const existing = await repo.byName(device.deviceId, f.name!);
      if (existing?.state === 'stored') {
        throw new AppError('FILE_EXISTS', `the device already has a file ${f.name}`, { id: existing.id, size: Number(existing.size) });
      }
      if (existing) await repo.delete(existing.id);
      const used = await repo.usage(device.orgId);
      if (used + f.size! > this.deps.quotaBytes) {
        throw new AppError('FILE_QUOTA_EXCEEDED', `the organization's files would exceed its quota of ${this.deps.quotaBytes} bytes`, {
          usedBytes: used,
          quotaBytes: this.deps.quotaBytes,
        });
      }
      await repo.insert({ id, orgId: device.orgId, deviceId: device.deviceId, name: f.name!, size: f.size!, declaredType, storageKey: storageKey(id) });
      return existing;
    });
    if (stale) await this.removeBytes(stale);
  }

  /** The device's own upload, or FILE_NOT_FOUND (another device's upload is not found, not forbidden). */
  async uploadOf(device: DeviceIdentity, id: string): Promise<FileRow> {
    const row = isUuid(id) ? await this.repo.byId(id.toLowerCase()) : null;
    if (!row || row.device_id !== device.deviceId) throw notFound(id);
    return row;
  }

  /**
   * The last byte is in: the file's type is read from its first bytes. A file that is not what it
   * claims to be is refused (FILE_TYPE_MISMATCH) and its bytes deleted; otherwise it moves into
   * the storage and is stored. The device's last PATCH is answered only then: a 2xx means kept.
   */
  async finish(id: string): Promise<DeviceFile> {
    // The last PATCH and a HEAD (finishIfComplete) may both get here: one finishes, both wait for it.
    const running = this.finishing.get(id);
    if (running) return running;
    const p = this.finishOnce(id).finally(() => this.finishing.delete(id));
    this.finishing.set(id, p);
    return p;
  }

  private async finishOnce(id: string): Promise<DeviceFile> {
    const row = await this.repo.byId(id);
    if (!row) throw notFound(id);
    if (row.state === 'stored') return this.toFile(row);
    const staged = path.join(this.deps.stagingDir, row.id);
    const head = await readHead(staged, Math.min(Number(row.size), SNIFF_BYTES));
    const verdict = await checkContentType(head, row.declared_type);
    if (!verdict.ok) {
      await this.repo.delete(row.id);
      await this.removeBytes(row);
      throw new AppError(
        'FILE_TYPE_MISMATCH',
        `the bytes are ${verdict.detected ?? 'no known media format'}, not ${row.declared_type}; the upload was discarded`,
      );
    }
    await this.limitAdoption(() => this.deps.storage.adopt(row.storage_key, staged));
    await this.uploads.configstore.delete(row.id);
    const stored = await this.repo.markStored(row.id, verdict.contentType);
    return this.toFile(stored ?? row);
  }

  /**
   * An upload whose last byte arrived but that was never finished (the node stopped between the
   * two): finished now. A device that resumes it is told it is complete, so it will not ask again.
   */
  async finishIfComplete(id: string): Promise<void> {
    const row = await this.repo.byId(id);
    if (row?.state !== 'uploading') return;
    const upload = await this.uploads.getUpload(id).catch(() => null);
    if (upload && upload.offset === Number(row.size)) await this.finish(id);
  }

  /** The device ended an unfinished upload (tus termination): its reservation goes. */
  async terminated(id: string): Promise<void> {
    await this.repo.delete(id);
  }

  private async limitAdoption<T>(fn: () => Promise<T>): Promise<T> {
    if (this.adopting >= ADOPTING_AT_ONCE) await new Promise<void>((r) => this.adoptQueue.push(r));
    this.adopting++;
    try {
      return await fn();
    } finally {
      this.adopting--;
      this.adoptQueue.shift()?.();
    }
  }

  /** Deletes a file's bytes: the staged upload, or the stored file. A failure is logged (the row is already gone). */
  private async removeBytes(row: FileRow): Promise<void> {
    try {
      if (row.state === 'stored') await this.deps.storage.delete(row.storage_key);
      else await this.uploads.remove(row.id);
    } catch (err) {
      // An upload whose bytes never arrived has nothing to remove.
      if ((err as { status_code?: number }).status_code !== 404) this.deps.logger.warn({ err, fileId: row.id }, 'could not delete file bytes');
    }
  }

  // ---- user side ------------------------------------------------------------------------

  async list(actor: Actor, q: FileQuery): Promise<DeviceFilePage> {
    const deviceId = q.deviceId ? assertUuid(q.deviceId, 'deviceId') : undefined;
    const from = q.from ? parseTime(q.from, new Date(0), 'from') : undefined;
    const to = q.to ? parseTime(q.to, new Date(), 'to') : undefined;
    const limit = Math.min(Math.max(q.limit ?? 100, 1), 1000);
    const offset = Math.max(q.offset ?? 0, 0);
    const { items, total } = await this.repo.list(actor.orgId, { deviceId, state: q.state, type: q.type, from, to, limit, offset });
    return { items: await Promise.all(items.map((r) => this.toFile(r))), total, limit, offset };
  }

  async get(actor: Actor, id: string): Promise<DeviceFile> {
    return this.toFile(await this.row(actor, id));
  }

  /** A file by its place in the org's folders, `<deviceId>/<name>`. */
  async byPath(actor: Actor, deviceId: string, name: string): Promise<FileRow> {
    const row = isUuid(deviceId) ? await this.repo.byName(deviceId.toLowerCase(), name) : null;
    if (!row || row.org_id !== actor.orgId) throw notFound(`${deviceId}/${name}`);
    return row;
  }

  async content(actor: Actor, id: string): Promise<RangedBody> {
    return this.body(await this.row(actor, id));
  }

  async contentByPath(actor: Actor, deviceId: string, name: string): Promise<RangedBody> {
    return this.body(await this.byPath(actor, deviceId, name));
  }

  /** The bytes a signed `url` serves: FILE_LINK_INVALID or FILE_LINK_EXPIRED otherwise. */
  async contentByLink(id: string, token: string): Promise<RangedBody> {
    const claims = isUuid(id) ? await this.deps.signer.verify(token, LINK_AUDIENCE) : null;
    if (claims === 'expired') throw new AppError('FILE_LINK_EXPIRED', 'this file link has expired; list the file again for a new one');
    if (!claims || claims.sub !== id.toLowerCase()) throw new AppError('FILE_LINK_INVALID', 'this file link is not valid');
    const row = await this.repo.byId(claims.sub);
    if (!row) throw notFound(id);
    return this.body(row);
  }

  async delete(actor: Actor, id: string): Promise<void> {
    requireRole(actor, 'operator');
    const row = await this.row(actor, id);
    await this.deps.db.transaction(async (tx) => {
      if (!(await new FilesRepository(tx).delete(row.id))) throw notFound(id);
      await new AuditLog(tx).record({
        orgId: actor.orgId,
        actor,
        action: 'file.deleted',
        targetKind: 'file',
        targetId: row.id,
        details: { deviceId: row.device_id, name: row.name, size: Number(row.size), state: row.state },
      });
    });
    await this.removeBytes(row);
  }

  async usage(actor: Actor): Promise<FileUsage> {
    return {
      usedBytes: await this.repo.usage(actor.orgId),
      quotaBytes: this.deps.quotaBytes,
      maxFileBytes: this.deps.maxFileBytes,
      retentionDays: this.deps.retentionDays,
    };
  }

  /** The files an event names (for the alerts module), each with the device's file of that name if it has one. */
  async eventFiles(orgId: string, deviceId: string, names: string[]): Promise<EventFile[]> {
    const rows = (await this.repo.byNames(deviceId, names)).filter((r) => r.org_id === orgId);
    const byName = new Map(rows.map((r) => [r.name, r]));
    return Promise.all(names.map(async (name) => ({ name, file: byName.has(name) ? await this.toFile(byName.get(name)!) : null })));
  }

  /** Retention and abandoned uploads (worker nodes, hourly): returns how many files went. */
  async sweep(now = Date.now()): Promise<number> {
    const storedBefore = this.deps.retentionDays > 0 ? new Date(now - this.deps.retentionDays * 86400_000) : null;
    const uploadingBefore = new Date(now - (this.deps.abandonAfterS ?? 24 * 3600) * 1000);
    let n = 0;
    for (;;) {
      const batch = await this.repo.expired(storedBefore, uploadingBefore, 500);
      for (const row of batch) {
        if (row.state === 'uploading') {
          // Complete but never finished: kept, not swept.
          await this.finishIfComplete(row.id).catch((err: unknown) => this.deps.logger.warn({ err, fileId: row.id }, 'could not finish an upload'));
          if ((await this.repo.byId(row.id))?.state === 'stored') continue;
        }
        if (await this.repo.delete(row.id)) {
          await this.removeBytes(row);
          n++;
        }
      }
      if (batch.length < 500) break;
    }
    if (n) this.deps.logger.info({ files: n }, 'expired device files deleted');
    return n;
  }

  private async row(actor: Actor, id: string): Promise<FileRow> {
    const row = isUuid(id) ? await this.repo.byId(id.toLowerCase()) : null;
    if (!row || row.org_id !== actor.orgId) throw notFound(id);
    return row;
  }

  private body(row: FileRow): RangedBody {
    if (row.state !== 'stored' || !row.content_type) throw new AppError('FILE_NOT_READY', `${row.name} is still uploading`);
    const key = row.storage_key;
    const storage = this.deps.storage;
    return {
      size: Number(row.size),
      etag: `"${row.id}"`,
      contentType: row.content_type,
      disposition: `${isInlineMedia(row.content_type) ? 'inline' : 'attachment'}; filename="${row.name}"`,
      open: async (range) => {
        const s = await storage.get(key, range);
        if (!s) throw new AppError('UNAVAILABLE', `the bytes of ${row.name} are missing from the storage`);
        return s;
      },
    };
  }

  private async toFile(r: FileRow): Promise<DeviceFile> {
    const stored = r.state === 'stored';
    return {
      id: r.id,
      deviceId: r.device_id,
      deviceName: r.device_name,
      name: r.name,
      path: `${r.device_id}/${r.name}`,
      size: Number(r.size),
      state: r.state,
      contentType: r.content_type,
      declaredType: r.declared_type,
      createdAt: r.created_at.toISOString(),
      storedAt: r.stored_at?.toISOString() ?? null,
      url: stored ? `/api/v1/files/${r.id}/content-link?token=${await this.deps.signer.sign({}, r.id, LINK_AUDIENCE, LINK_TTL_S)}` : null,
    };
  }
}

async function readHead(file: string, bytes: number): Promise<Buffer> {
  if (bytes <= 0) return Buffer.alloc(0);
  const fh = await fs.promises.open(file, 'r');
  try {
    const buf = Buffer.alloc(bytes);
    const { bytesRead } = await fh.read(buf, 0, bytes, 0);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}
