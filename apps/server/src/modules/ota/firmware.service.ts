import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Database } from '../../platform/db/database.js';
import type { JwtSigner } from '../../platform/security/jwt.js';
import type { ByteRange, FileStorage } from '../../platform/storage/file-storage.js';
import { putMetered, UploadInterrupted, UploadTooLarge } from '../../platform/storage/metered-put.js';
import { requireRole, type Actor } from '../accounts/actor.js';
import { AuditLog } from '../audit/audit.repository.js';
import { AppError, assertUuid, isUuid } from '../errors.js';
import type { TemplatesService } from '../templates/templates.service.js';
import { FirmwareRepository, type FirmwareRow } from './firmware.repository.js';
import type { DownloadLink, Firmware, FirmwareInput } from './firmware.schemas.js';

/** The audience of download-link tokens: they open one artifact, nothing else. */
const DOWNLOAD_AUDIENCE = 'tether-firmware-download';
const DEFAULT_LINK_TTL_S = 3600;

const toFirmware = (r: FirmwareRow): Firmware => ({
  id: r.id,
  templateId: r.template_id,
  version: r.version,
  releaseNotes: r.release_notes,
  declaredSha256: r.declared_sha256,
  uploaded: r.uploaded_at !== null,
  size: r.size === null ? null : Number(r.size),
  sha256: r.sha256,
  uploadedAt: r.uploaded_at?.toISOString() ?? null,
  createdAt: r.created_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
});

const notFound = (id: string) => new AppError('FIRMWARE_NOT_FOUND', `firmware ${id} not found`);

/** A stored artifact, ready to be sent: its bytes come from the storage. */
export interface Artifact {
  firmware: Firmware;
  size: number;
  sha256: string;
  open(range?: ByteRange): Promise<Readable>;
}

export interface FirmwareServiceDeps {
  db: Database;
  storage: FileStorage;
  signer: JwtSigner;
  templates: Pick<TemplatesService, 'get'>;
  /** Largest artifact accepted, in bytes. */
  maxBytes: number;
}

/**
 * Firmware artifacts (issue 14): described, then uploaded once as a stream (never
 * held in memory; size and sha256 computed on the way), downloaded with Range by
 * members of the org or through a short-lived signed link that a device can use
 * without its token.
 */
export class FirmwareService {
  private readonly repo: FirmwareRepository;
  private readonly audit: AuditLog;

  constructor(private readonly deps: FirmwareServiceDeps) {
    this.repo = new FirmwareRepository(deps.db);
    this.audit = new AuditLog(deps.db);
  }

  async list(actor: Actor, q: { templateId?: string }): Promise<{ items: Firmware[] }> {
    const templateId = q.templateId === undefined ? null : assertUuid(q.templateId, 'templateId');
    return { items: (await this.repo.list(actor.orgId, templateId)).map(toFirmware) };
  }

  async get(actor: Actor, id: string): Promise<Firmware> {
    return toFirmware(await this.row(actor, id));
  }

  /** Firmware by id, whatever the org (the caller has scoped the ids): for deployments' summaries. */
  async byIds(ids: string[]): Promise<Map<string, Firmware>> {
    return new Map((await this.repo.byIds([...new Set(ids)])).map((r) => [r.id, toFirmware(r)]));
  }

  private async row(actor: Actor, id: string): Promise<FirmwareRow> {
    const r = await this.repo.get(actor.orgId, assertUuid(id, 'firmware id'));
    if (!r) throw notFound(id);
    return r;
  }

  async create(actor: Actor, input: FirmwareInput): Promise<Firmware> {
    requireRole(actor, 'operator');
    // Another org's template is a 404, as if it did not exist.
    const template = await this.deps.templates.get(actor, input.templateId);
    const r = await this.repo.insert({
      orgId: actor.orgId,
      templateId: template.id,
      version: input.version,
      releaseNotes: input.releaseNotes ?? '',
      declaredSha256: input.sha256?.toLowerCase() ?? null,
      createdBy: actor.userId,
    });
    if (!r) throw new AppError('FIRMWARE_VERSION_TAKEN', `template ${template.name} already has a firmware ${input.version}`);
    await this.audit.record({ orgId: actor.orgId, actor, action: 'firmware.create', targetKind: 'firmware', targetId: r.id, details: { version: r.version } });
    return toFirmware(r);
  }

  /**
   * Stores the artifact's bytes, streamed from `body` (`declaredBytes`: the request's
   * Content-Length, if any). Refused, with nothing kept: past maxBytes, a sha256 that
   * does not match the declared one, a body cut off, or a firmware already uploaded.
   */
  async upload(actor: Actor, id: string, body: Readable, declaredBytes: number | null): Promise<Firmware> {
    requireRole(actor, 'operator');
    const fw = await this.row(actor, id);
    if (fw.uploaded_at) throw new AppError('FIRMWARE_ALREADY_UPLOADED', `firmware ${fw.version} is already uploaded; describe a new version instead`);
    const max = this.deps.maxBytes;
    if (declaredBytes !== null && declaredBytes > max) throw new AppError('PAYLOAD_TOO_LARGE', `an artifact may have at most ${max} bytes`);
    if (declaredBytes === 0) throw new AppError('VALIDATION_FAILED', 'the artifact is empty');
    // Each attempt its own key: a failed or racing upload never touches another's bytes.
    const key = `firmware/${actor.orgId}/${fw.id}/${randomUUID()}`;
    let stored: { size: number; sha256: string };
    try {
      stored = await putMetered(this.deps.storage, key, body, max);
    } catch (err) {
      if (err instanceof UploadTooLarge) throw new AppError('PAYLOAD_TOO_LARGE', `an artifact may have at most ${max} bytes`);
      if (err instanceof UploadInterrupted) throw new AppError('UPLOAD_INCOMPLETE', `${err.message}; upload it again`);
      throw err;
    }
    const { size, sha256 } = stored;
    const refuse = async (e: AppError): Promise<never> => {
      await this.deps.storage.delete(key);
      throw e;
    };
    if (size === 0) return refuse(new AppError('VALIDATION_FAILED', 'the artifact is empty'));
    if (fw.declared_sha256 && fw.declared_sha256 !== sha256) {
      return refuse(new AppError('FIRMWARE_CHECKSUM_MISMATCH', `the bytes hash to ${sha256}, not the declared ${fw.declared_sha256}`));
    }
    const r = await this.repo.setArtifact(actor.orgId, fw.id, { size, sha256, storageKey: key });
    if (!r) return refuse(new AppError('FIRMWARE_ALREADY_UPLOADED', `firmware ${fw.version} was uploaded meanwhile`));
    await this.audit.record({ orgId: actor.orgId, actor, action: 'firmware.upload', targetKind: 'firmware', targetId: r.id, details: { size, sha256 } });
    return toFirmware(r);
  }

  async delete(actor: Actor, id: string): Promise<void> {
    requireRole(actor, 'admin');
    const fw = await this.row(actor, id);
    const r = await this.repo.delete(actor.orgId, fw.id);
    if (r === 'in use') throw new AppError('FIRMWARE_IN_USE', `firmware ${fw.version} was deployed; its deployments keep it`);
    if (!r) throw notFound(id);
    if (r.storage_key) await this.deps.storage.delete(r.storage_key);
    await this.audit.record({ orgId: actor.orgId, actor, action: 'firmware.delete', targetKind: 'firmware', targetId: r.id, details: { version: r.version } });
  }

  /** The artifact, for a member of its org. */
  async artifact(actor: Actor, id: string): Promise<Artifact> {
    return this.artifactOf(await this.row(actor, id));
  }

  /** A link that downloads the artifact without any other credential, until it expires. */
  async downloadLink(actor: Actor, id: string, ttlSeconds = DEFAULT_LINK_TTL_S): Promise<DownloadLink> {
    const fw = await this.row(actor, id);
    if (!fw.uploaded_at) throw new AppError('FIRMWARE_NOT_UPLOADED', `firmware ${fw.version} has no artifact yet`);
    return this.link(fw.id, ttlSeconds);
  }

  /** A signed link to a firmware (for a device's OTA job: the caller has checked the device may have it). */
  async link(firmwareId: string, ttlSeconds = DEFAULT_LINK_TTL_S): Promise<DownloadLink> {
    const token = await this.deps.signer.sign({}, firmwareId, DOWNLOAD_AUDIENCE, ttlSeconds);
    return {
      url: `/api/v1/firmware-downloads/${firmwareId}?token=${token}`,
      expiresAt: new Date(Date.now() + ttlSeconds * 1000).toISOString(),
    };
  }

  /** The artifact a download link opens; DOWNLOAD_LINK_INVALID or DOWNLOAD_LINK_EXPIRED otherwise. */
  async artifactByLink(id: string, token: string): Promise<Artifact> {
    const claims = isUuid(id) ? await this.deps.signer.verify(token, DOWNLOAD_AUDIENCE) : null;
    if (claims === 'expired') throw new AppError('DOWNLOAD_LINK_EXPIRED', 'this download link has expired; ask for a new one');
    if (!claims || claims.sub !== id.toLowerCase()) throw new AppError('DOWNLOAD_LINK_INVALID', 'this download link is not valid');
    const fw = await this.repo.byId(claims.sub);
    if (!fw) throw notFound(id);
    return this.artifactOf(fw);
  }

  private artifactOf(fw: FirmwareRow): Artifact {
    if (!fw.uploaded_at || !fw.storage_key || !fw.sha256 || fw.size === null) {
      throw new AppError('FIRMWARE_NOT_UPLOADED', `firmware ${fw.version} has no artifact yet`);
    }
    const key = fw.storage_key;
    const storage = this.deps.storage;
    return {
      firmware: toFirmware(fw),
      size: Number(fw.size),
      sha256: fw.sha256,
      open: async (range) => {
        const s = await storage.get(key, range);
        if (!s) throw new AppError('FIRMWARE_NOT_UPLOADED', `the artifact of firmware ${fw.version} is missing from the storage`);
        return s;
      },
    };
  }
}
