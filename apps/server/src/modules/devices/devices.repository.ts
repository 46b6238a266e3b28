import type { Queryable } from '../../platform/db/database.js';
import { sqlParameters, textMatch } from '../../platform/db/text-match.js';
import { idPrefixRange } from './device-search.js';

export interface DeviceRow {
  id: string;
  org_id: string;
  project_id: string | null;
  name: string;
  type: string;
  tags: string[];
  metadata: Record<string, unknown>;
  firmware_version: string | null;
  template_id: string | null;
  photo_key: string | null;
  photo_content_type: string | null;
  inactivity_timeout_s: number | null;
  effective_timeout_s: number;
  online: boolean;
  active: boolean;
  last_connected_at: Date | null;
  last_disconnected_at: Date | null;
  first_seen_at: Date | null;
  last_seen_at: Date | null;
  location_lat: number | null;
  location_lon: number | null;
  location_at: Date | null;
  retired_at: Date | null;
  retired_reason: string | null;
  serial: string | null;
  claim_code_hash: string | null;
  claimed_at: Date | null;
  created_at: Date;
  updated_at: Date;
}

export interface DeviceFilter {
  projectId?: string;
  tag?: string;
  online?: boolean;
  /** Text in the name, serial, a tag or the metadata, or the id's start (devicesTextMatch). */
  q?: string;
  /** With q: devices a property of which contains it too (the metadata module found them). */
  propertyDeviceIds?: string[];
  limit: number;
  offset: number;
}

export interface DeviceSearchRow {
  id: string;
  name: string;
  serial: string | null;
  project_id: string | null;
  online: boolean;
  tags: string[];
  metadata: Record<string, unknown>;
  matched: 'id' | 'name' | 'serial' | 'tag' | 'metadata' | 'property';
}

/**
 * How a text finds devices (alias d): case-insensitively in the name, serial, a tag
 * or a metadata key or value (migration 030's trigram indexes serve each), as
 * the start of the id (a range of the primary key), or through a property
 * (`propertyDeviceIds`). `bind` adds the statement's parameters.
 */
function devicesTextMatch(text: string, propertyDeviceIds: string[], bind: (v: unknown) => string) {
  const m = textMatch(text, bind);
  const range = idPrefixRange(text);
  const id = range && `d.id BETWEEN ${bind(range.from)}::uuid AND ${bind(range.to)}::uuid`;
  const byProperty = propertyDeviceIds.length ? `d.id = ANY(${bind(propertyDeviceIds)}::uuid[])` : null;
  const fields = { name: 'd.name', serial: 'd.serial', tag: 'tether_tags_text(d.tags)', metadata: 'tether_metadata_text(d.metadata)' };
  return {
    m,
    range,
    id,
    fields,
    condition: `(${[m.inAny(Object.values(fields)), id, byProperty].filter(Boolean).join(' OR ')})`,
  };
}

export interface DeviceIdentity {
  deviceId: string;
  orgId: string;
  projectId: string | null;
  /** An MQTT connection signed in as `provision` (README, Provisioning): no device yet, deviceId only names the connection. */
  provisioning?: true;
}

// $1 is always the org; the default inactivity timeout is bound as $2.
const SELECT = `
  SELECT d.*, coalesce(d.inactivity_timeout_s, p.inactivity_timeout_s, $2::int) AS effective_timeout_s,
         coalesce(d.last_seen_at > now() - make_interval(secs => coalesce(d.inactivity_timeout_s, p.inactivity_timeout_s, $2::int)), false) AS active
  FROM devices d LEFT JOIN projects p ON p.id = d.project_id`;

export interface DevicePlaceRow {
  id: string;
  org_id: string;
  project_id: string | null;
  template_id: string | null;
  name: string;
}

/** SQL for devices and their credentials. Every read is scoped by org. */
/** What a device selection may filter on; every given criterion must hold. */
export interface DeviceSelection {
  projectId?: string;
  templateId?: string;
  /** The device has every one of these tags. */
  tags?: string[];
  ids?: string[];
}

export interface SelectedDeviceRow {
  id: string;
  name: string;
  project_id: string | null;
  template_id: string | null;
  tags: string[];
  firmware_version: string | null;
  online: boolean;
}

export interface DevicePositionRow {
  id: string;
  name: string;
  project_id: string | null;
  online: boolean;
  last_seen_at: Date | null;
  location_lat: number;
  location_lon: number;
  location_at: Date;
}

export class DevicesRepository {
  constructor(
    private readonly db: Queryable,
    private readonly defaultTimeoutS: number,
  ) {}

  async insert(
    d: {
      orgId: string;
      projectId: string | null;
      templateId: string | null;
      name: string;
      type: string;
      tags: string[];
      metadata: unknown;
      inactivityTimeoutS: number | null;
      serial: string | null;
      claimCodeHash: string | null;
    },
    tokenHash: string,
    q: Queryable,
  ): Promise<string> {
    const [row] = await q.query<{ id: string }>(
      `INSERT INTO devices (org_id, project_id, name, type, tags, metadata, inactivity_timeout_s, template_id, serial, claim_code_hash)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`,
      [d.orgId, d.projectId, d.name, d.type, d.tags, JSON.stringify(d.metadata ?? {}), d.inactivityTimeoutS, d.templateId, d.serial, d.claimCodeHash],
    );
    await q.query('INSERT INTO device_credentials (device_id, token_hash) VALUES ($1, $2)', [row!.id, tokenHash]);
    return row!.id;
  }

  async get(orgId: string, id: string): Promise<DeviceRow | null> {
    const [r] = await this.db.query<DeviceRow>(`${SELECT} WHERE d.org_id = $1 AND d.id = $3`, [orgId, this.defaultTimeoutS, id]);
    return r ?? null;
  }

  async list(orgId: string, f: DeviceFilter): Promise<{ items: DeviceRow[]; total: number }> {
    // $2 (the default timeout) is bound for both statements so they share one parameter list.
    const p = sqlParameters([orgId, this.defaultTimeoutS]);
    const where = ['d.org_id = $1'];
    if (f.projectId) where.push(`d.project_id = ${p.bind(f.projectId)}`);
    if (f.tag) where.push(`d.tags @> ARRAY[${p.bind(f.tag)}]::text[]`);
    if (f.online !== undefined) where.push(`d.online = ${p.bind(f.online)}`);
    if (f.q) where.push(devicesTextMatch(f.q, f.propertyDeviceIds ?? [], p.bind).condition);
    const cond = where.join(' AND ');
    const items = await this.db.query<DeviceRow>(
      `${SELECT} WHERE ${cond} ORDER BY d.created_at DESC, d.id LIMIT ${f.limit | 0} OFFSET ${f.offset | 0}`,
      p.values,
    );
    const [c] = await this.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM devices d WHERE ${cond} AND $2::int IS NOT NULL`, p.values);
    return { items, total: c?.n ?? 0 };
  }

  /**
   * The org's devices the text finds (see devicesTextMatch), best first: a name, serial, tag or
   * property (`exactPropertyDeviceIds`) equal to it or the whole id, then a name or serial starting with
   * it or the id's start, then by how similar the name or serial is (pg_trgm).
   */
  search(orgId: string, text: string, propertyDeviceIds: string[], exactPropertyDeviceIds: string[], limit: number): Promise<DeviceSearchRow[]> {
    const p = sqlParameters([orgId]);
    const { m, range, id, fields, condition } = devicesTextMatch(text, propertyDeviceIds, p.bind);
    const matched = Object.entries(fields)
      .map(([field, column]) => `WHEN ${m.contains(column)} THEN '${field}'`)
      .join(' ');
    const equal = [
      range?.whole ? id : null,
      `EXISTS (SELECT FROM unnest(d.tags) t WHERE ${m.equals('t')})`,
      exactPropertyDeviceIds.length ? `d.id = ANY(${p.bind(exactPropertyDeviceIds)}::uuid[])` : null,
    ];
    return this.db.query<DeviceSearchRow>(
      `SELECT d.id, d.name, d.serial, d.project_id, d.online, d.tags, d.metadata,
              CASE ${id ? `WHEN ${id} THEN 'id'` : ''} ${matched} ELSE 'property' END AS matched
       FROM devices d WHERE d.org_id = $1 AND ${condition}
       ORDER BY ${m.tier([fields.name, fields.serial], { equal: equal.filter(Boolean).join(' OR '), start: id ?? undefined })},
                ${m.similarity([fields.name, fields.serial])} DESC, lower(d.name), d.id
       LIMIT ${p.bind(limit)}`,
      p.values,
    );
  }

  /** Devices of an org matching all the given criteria (a fleet's selector or its members), oldest first, at most `limit`. */
  select(orgId: string, f: DeviceSelection, limit: number): Promise<SelectedDeviceRow[]> {
    return this.db.query<SelectedDeviceRow>(
      `SELECT id, name, project_id, template_id, tags, firmware_version, online FROM devices
       WHERE org_id = $1
         AND ($2::uuid IS NULL OR project_id = $2)
         AND ($3::uuid IS NULL OR template_id = $3)
         AND ($4::text[] IS NULL OR tags @> $4)
         AND ($5::uuid[] IS NULL OR id = ANY($5))
       ORDER BY created_at, id LIMIT $6`,
      [orgId, f.projectId ?? null, f.templateId ?? null, f.tags?.length ? f.tags : null, f.ids ?? null, limit],
    );
  }

  /** Up to limit + 1 devices of the org with a position, by id after the cursor (index devices_located_idx, migration 023). */
  positions(orgId: string, projectId: string | null, after: string | null, limit: number): Promise<DevicePositionRow[]> {
    return this.db.query<DevicePositionRow>(
      `SELECT id, name, project_id, online, last_seen_at, location_lat, location_lon, location_at FROM devices
       WHERE org_id = $1 AND location_at IS NOT NULL AND ($2::uuid IS NULL OR project_id = $2) AND ($3::uuid IS NULL OR id > $3)
       ORDER BY id LIMIT $4 + 1`,
      [orgId, projectId, after, limit],
    );
  }

  async update(
    orgId: string,
    id: string,
    p: {
      name?: string;
      type?: string;
      projectId?: string | null;
      templateId?: string | null;
      tags?: string[];
      metadata?: unknown;
      inactivityTimeoutS?: number | null;
      serial?: string | null;
    },
  ): Promise<boolean> {
    const r = await this.db.query(
      `UPDATE devices SET
         name = coalesce($3, name),
         type = coalesce($4, type),
         project_id = CASE WHEN $5::boolean THEN $6::uuid ELSE project_id END,
         tags = coalesce($7, tags),
         metadata = coalesce($8::jsonb, metadata),
         inactivity_timeout_s = CASE WHEN $9::boolean THEN $10::int ELSE inactivity_timeout_s END,
         template_id = CASE WHEN $11::boolean THEN $12::uuid ELSE template_id END,
         serial = CASE WHEN $13::boolean THEN $14::text ELSE serial END,
         updated_at = now()
       WHERE org_id = $1 AND id = $2 RETURNING id`,
      [
        orgId,
        id,
        p.name ?? null,
        p.type ?? null,
        p.projectId !== undefined,
        p.projectId ?? null,
        p.tags ?? null,
        p.metadata === undefined ? null : JSON.stringify(p.metadata),
        p.inactivityTimeoutS !== undefined,
        p.inactivityTimeoutS ?? null,
        p.templateId !== undefined,
        p.templateId ?? null,
        p.serial !== undefined,
        p.serial ?? null,
      ],
    );
    return r.length > 0;
  }

  /** The org's device with this serial (or IMEI). */
  async bySerial(orgId: string, serial: string): Promise<DeviceIdentity | null> {
    const [r] = await this.db.query<{ id: string; org_id: string; project_id: string | null }>(
      'SELECT id, org_id, project_id FROM devices WHERE org_id = $1 AND serial = $2',
      [orgId, serial],
    );
    return r ? { deviceId: r.id, orgId: r.org_id, projectId: r.project_id } : null;
  }

  /** The org's device holding this claim code (hashed), and whether and where it is claimed. */
  async byClaimCode(orgId: string, codeHash: string): Promise<{ id: string; project_id: string | null; claimed_at: Date | null } | null> {
    const [r] = await this.db.query<{ id: string; project_id: string | null; claimed_at: Date | null }>(
      'SELECT id, project_id, claimed_at FROM devices WHERE org_id = $1 AND claim_code_hash = $2',
      [orgId, codeHash],
    );
    return r ?? null;
  }

  /** Claims an unclaimed device into a project; false when it was claimed meanwhile. */
  async claim(orgId: string, id: string, projectId: string): Promise<boolean> {
    const r = await this.db.query(
      `UPDATE devices SET project_id = $3, claimed_at = now(), updated_at = now()
       WHERE org_id = $1 AND id = $2 AND claim_code_hash IS NOT NULL AND claimed_at IS NULL RETURNING id`,
      [orgId, id, projectId],
    );
    return r.length > 0;
  }

  /** Returns a claimed device to the unclaimed pool (no project); false unless it has a claim code and was claimed. */
  async unclaim(orgId: string, id: string): Promise<boolean> {
    const r = await this.db.query(
      `UPDATE devices SET project_id = NULL, claimed_at = NULL, updated_at = now()
       WHERE org_id = $1 AND id = $2 AND claim_code_hash IS NOT NULL AND claimed_at IS NOT NULL RETURNING id`,
      [orgId, id],
    );
    return r.length > 0;
  }

  /** Marks the device retired now (reason given) or not retired (reason null); false if not in the org. */
  async setRetired(orgId: string, id: string, reason: string | null): Promise<boolean> {
    const r = await this.db.query(
      `UPDATE devices SET retired_at = CASE WHEN $3::text IS NULL THEN NULL ELSE coalesce(retired_at, now()) END, retired_reason = $3, updated_at = now()
       WHERE org_id = $1 AND id = $2 RETURNING id`,
      [orgId, id, reason],
    );
    return r.length > 0;
  }

  async delete(orgId: string, id: string): Promise<boolean> {
    const r = await this.db.query('DELETE FROM devices WHERE org_id = $1 AND id = $2 RETURNING id', [orgId, id]);
    return r.length > 0;
  }

  async rotateCredential(deviceId: string, tokenHash: string, q: Queryable): Promise<void> {
    await q.query('UPDATE device_credentials SET revoked_at = now() WHERE device_id = $1 AND revoked_at IS NULL', [deviceId]);
    await q.query('UPDATE devices SET credentials_valid_after = now() WHERE id = $1', [deviceId]);
    await q.query('INSERT INTO device_credentials (device_id, token_hash) VALUES ($1, $2)', [deviceId, tokenHash]);
  }

  async revokeCredentials(orgId: string, deviceId: string): Promise<void> {
    await this.db.query(
      `UPDATE device_credentials c SET revoked_at = now() FROM devices d
       WHERE c.device_id = d.id AND d.org_id = $1 AND d.id = $2 AND c.revoked_at IS NULL`,
      [orgId, deviceId],
    );
    await this.db.query('UPDATE devices SET credentials_valid_after = now() WHERE org_id = $1 AND id = $2', [orgId, deviceId]);
  }

  /** Of these devices (any org), those holding a token that is not revoked: an external broker's client list is checked against it. */
  async withLiveToken(deviceIds: string[]): Promise<string[]> {
    if (!deviceIds.length) return [];
    const r = await this.db.query<{ device_id: string }>(
      'SELECT DISTINCT device_id FROM device_credentials WHERE device_id = ANY($1::uuid[]) AND revoked_at IS NULL',
      [deviceIds],
    );
    return r.map((x) => x.device_id);
  }

  async countWithLiveToken(): Promise<number> {
    const [r] = await this.db.query<{ n: string }>('SELECT count(DISTINCT device_id) AS n FROM device_credentials WHERE revoked_at IS NULL');
    return Number(r!.n);
  }

  /** Device authentication by id and token hash (MQTT CONNECT). */
  async identityByIdAndToken(deviceId: string, tokenHash: string): Promise<DeviceIdentity | null> {
    const [r] = await this.db.query<{ id: string; org_id: string; project_id: string | null }>(
      `SELECT d.id, d.org_id, d.project_id FROM device_credentials c JOIN devices d ON d.id = c.device_id
       WHERE c.device_id = $1 AND c.token_hash = $2 AND c.revoked_at IS NULL`,
      [deviceId, tokenHash],
    );
    return r ? { deviceId: r.id, orgId: r.org_id, projectId: r.project_id } : null;
  }

  /** Device authentication by token alone (HTTP, ThingsBoard-style MQTT username). */
  async identityByToken(tokenHash: string): Promise<DeviceIdentity | null> {
    const [r] = await this.db.query<{ id: string; org_id: string; project_id: string | null }>(
      `SELECT d.id, d.org_id, d.project_id FROM device_credentials c JOIN devices d ON d.id = c.device_id
       WHERE c.token_hash = $1 AND c.revoked_at IS NULL`,
      [tokenHash],
    );
    return r ? { deviceId: r.id, orgId: r.org_id, projectId: r.project_id } : null;
  }

  async identityById(deviceId: string): Promise<DeviceIdentity | null> {
    const [r] = await this.db.query<{ id: string; org_id: string; project_id: string | null }>('SELECT id, org_id, project_id FROM devices WHERE id = $1', [
      deviceId,
    ]);
    return r ? { deviceId: r.id, orgId: r.org_id, projectId: r.project_id } : null;
  }

  /** ThingsBoard gateway API: whether the device is marked a gateway (metadata `isGateway: true`). */
  async isGateway(deviceId: string): Promise<boolean> {
    const [r] = await this.db.query<{ gateway: boolean }>(
      "SELECT coalesce(metadata->'isGateway' = 'true'::jsonb, false) AS gateway FROM devices WHERE id = $1",
      [deviceId],
    );
    return r?.gateway ?? false;
  }

  /** The oldest device of that name in the org and project (null: no project), or null. */
  async identityByName(orgId: string, projectId: string | null, name: string, q: Queryable = this.db): Promise<DeviceIdentity | null> {
    const [r] = await q.query<{ id: string; org_id: string; project_id: string | null }>(
      `SELECT id, org_id, project_id FROM devices WHERE org_id = $1 AND project_id IS NOT DISTINCT FROM $2 AND name = $3 ORDER BY created_at, id LIMIT 1`,
      [orgId, projectId, name],
    );
    return r ? { deviceId: r.id, orgId: r.org_id, projectId: r.project_id } : null;
  }

  /** The device's identity and effective inactivity timeout (device → project → default), for a broker that names it by id. */
  async identityWithTimeout(deviceId: string): Promise<{ identity: DeviceIdentity; inactivityTimeoutS: number } | null> {
    const [r] = await this.db.query<{ id: string; org_id: string; project_id: string | null; timeout_s: number }>(
      `SELECT d.id, d.org_id, d.project_id, coalesce(d.inactivity_timeout_s, p.inactivity_timeout_s, $2::int) AS timeout_s
       FROM devices d LEFT JOIN projects p ON p.id = d.project_id WHERE d.id = $1`,
      [deviceId, this.defaultTimeoutS],
    );
    return r ? { identity: { deviceId: r.id, orgId: r.org_id, projectId: r.project_id }, inactivityTimeoutS: r.timeout_s } : null;
  }

  /** When the device's credentials were last rotated or revoked; JWTs issued before are void. */
  async credentialsValidAfter(deviceId: string): Promise<{ exists: boolean; after: Date | null }> {
    const [r] = await this.db.query<{ credentials_valid_after: Date | null }>('SELECT credentials_valid_after FROM devices WHERE id = $1', [deviceId]);
    return { exists: !!r, after: r?.credentials_valid_after ?? null };
  }

  async setPhoto(orgId: string, id: string, key: string | null, contentType: string | null): Promise<void> {
    await this.db.query('UPDATE devices SET photo_key = $3, photo_content_type = $4, updated_at = now() WHERE org_id = $1 AND id = $2', [
      orgId,
      id,
      key,
      contentType,
    ]);
  }

  /** On start-up no device is connected to this node yet. */
  /** Where devices sit (org, project, template) and their names, for alarm rules; any org. */
  async places(ids: string[]): Promise<DevicePlaceRow[]> {
    if (!ids.length) return [];
    return this.db.query<DevicePlaceRow>('SELECT id, org_id, project_id, template_id, name FROM devices WHERE id = ANY($1::uuid[])', [ids]);
  }

  /** The org's devices not heard from for `silentS` (never heard from: since they were created). */
  async silent(orgId: string, silentS: number, now: Date): Promise<(DevicePlaceRow & { last_seen_at: Date | null; created_at: Date })[]> {
    return this.db.query<DevicePlaceRow & { last_seen_at: Date | null; created_at: Date }>(
      `SELECT id, org_id, project_id, template_id, name, last_seen_at, created_at FROM devices
       WHERE org_id = $1 AND coalesce(last_seen_at, created_at) <= $3::timestamptz - $2 * interval '1 second'`,
      [orgId, silentS, now],
    );
  }

  async markAllOffline(): Promise<void> {
    await this.db.query('UPDATE devices SET online = false, connected_node = NULL WHERE online');
  }
}
