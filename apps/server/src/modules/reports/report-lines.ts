/**
 * A report's lines → telemetry points, streamed: one physical line at a time,
 * so neither a 1M-line file nor one endless line is ever held whole. Values go
 * through ingest's own telemetry decoder (decodeTelemetry), so keys and values
 * follow the same rules as MQTT and HTTP telemetry.
 */
import type { Readable } from 'node:stream';
import { parse as parseCsvLine } from 'csv-parse/sync';
import { decodeTelemetry, parseJson, type EmbeddedIdentity } from '../ingest/decode.js';
import { IngestRejection, type IngestPoint, type RejectReason } from '../ingest/ingest-message.js';

export type ReportFormat = 'jsonl' | 'csv';

/** Why a line was refused: ingest's reasons, and the ones only a report has. */
export type LineReason =
  | Exclude<RejectReason, 'unknown_topic' | 'not_authorized' | 'too_large'>
  | 'missing_timestamp'
  | 'no_sent_uptime'
  | 'line_too_long'
  | 'malformed_csv'
  | 'wrong_column_count';

export class LineError extends Error {
  constructor(
    readonly reason: LineReason,
    message: string,
  ) {
    super(message);
    this.name = 'LineError';
  }
}

/** A report that cannot be read at all (a CSV header without a time column): it fails as a whole. */
export class ReportFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReportFormatError';
  }
}

export interface RawLine {
  /** 1-based physical line number. */
  line: number;
  /** The line without its end of line; null when it was longer than the cap (and skipped). */
  text: string | null;
}

/**
 * The stream's lines (LF or CRLF), blank ones left out. A line longer than
 * `maxLineBytes` is yielded with `text: null` and its bytes are dropped as they
 * come, so memory stays bounded whatever the input.
 */
export async function* readLines(stream: Readable, maxLineBytes: number): AsyncGenerator<RawLine> {
  let parts: Buffer[] = [];
  let held = 0;
  let overlong = false;
  let line = 0;
  const finish = (): RawLine | null => {
    line++;
    if (overlong) {
      overlong = false;
      parts = [];
      held = 0;
      return { line, text: null };
    }
    let text = parts.length === 1 ? parts[0]!.toString('utf8') : Buffer.concat(parts, held).toString('utf8');
    parts = [];
    held = 0;
    if (text.endsWith('\r')) text = text.slice(0, -1);
    if (line === 1 && text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    return text.trim() === '' ? null : { line, text };
  };
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(10, start);
      const end = nl === -1 ? chunk.length : nl;
      if (!overlong && end > start) {
        if (held + (end - start) > maxLineBytes) {
          overlong = true;
          parts = [];
          held = 0;
        } else {
          parts.push(chunk.subarray(start, end));
          held += end - start;
        }
      }
      if (nl === -1) break;
      const l = finish();
      if (l) yield l;
      start = nl + 1;
    }
  }
  if (held > 0 || overlong) {
    const l = finish();
    if (l) yield l;
  }
}

/** When the report arrived and the device's uptime then: what `uptime`-stamped readings are placed by. */
export interface ReportClock {
  /** Microseconds since the epoch. */
  receivedAtUs: number;
  /** Seconds since the device booted, when it sent the report (X-Device-Uptime); null if not sent. */
  sentUptimeS: number | null;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The wall time of a reading stamped with the device's uptime, in milliseconds
 * (IOTile's clock correction): received − (uptime when sent − uptime of the reading).
 */
export function wallTimeMs(clock: ReportClock, uptime: unknown): number {
  if (clock.sentUptimeS === null) throw new LineError('no_sent_uptime', 'the reading is stamped with uptime, but the upload sent no X-Device-Uptime');
  if (typeof uptime !== 'number' || !Number.isFinite(uptime) || uptime < 0) {
    throw new LineError('invalid_timestamp', 'uptime must be a number of seconds since boot, at least 0');
  }
  if (uptime > clock.sentUptimeS) throw new LineError('invalid_timestamp', `uptime ${uptime} is after the report was sent (uptime ${clock.sentUptimeS})`);
  return clock.receivedAtUs / 1000 - (clock.sentUptimeS - uptime) * 1000;
}

/** One reading object: `{"ts":…,"values":{…}}`, `{"ts":…,"k":v}`, or the same with `uptime` instead of `ts`. */
function entryPoints(entry: unknown, clock: ReportClock, identity: EmbeddedIdentity): IngestPoint[] {
  if (!isPlainObject(entry)) throw new LineError('invalid_payload', 'a reading must be a JSON object (or an array of them)');
  let e = entry;
  if (e.ts === undefined && e.timestamp === undefined) {
    if (!('uptime' in e)) throw new LineError('missing_timestamp', 'a reading in a report needs "ts" (or "timestamp") or "uptime"');
    // Without ts, uptime is the reading's clock, not a value.
    const { uptime, ...rest } = e;
    e = { ...rest, ts: wallTimeMs(clock, uptime) };
  }
  return decodeTelemetry(e, clock.receivedAtUs, identity);
}

/**
 * The points of one JSON line: an object as on the telemetry topic, or an
 * array of them. Every reading needs its own time; `device_id`, if present,
 * must be the uploading device.
 */
export function decodeJsonLine(text: string, clock: ReportClock, deviceId: string): IngestPoint[] {
  return guarded(() => {
    const body = parseJson(text);
    const identity: EmbeddedIdentity = { deviceId: null, jwt: null };
    const points: IngestPoint[] = [];
    if (Array.isArray(body)) {
      if (body.length === 0) throw new LineError('invalid_payload', 'the line is an empty array');
      for (const entry of body) points.push(...entryPoints(entry, clock, identity));
    } else {
      points.push(...entryPoints(body, clock, identity));
    }
    if (identity.deviceId !== null && identity.deviceId.toLowerCase() !== deviceId) {
      throw new LineError('identity_mismatch', 'device_id is not the uploading device');
    }
    return points;
  });
}

/** Ingest's rejections as line errors. */
function guarded<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof IngestRejection) {
      if (err.reason === 'too_large' || err.reason === 'unknown_topic' || err.reason === 'not_authorized') throw new LineError('invalid_payload', err.message);
      throw new LineError(err.reason, err.message);
    }
    throw err;
  }
}

const TIME_COLUMNS = new Set(['ts', 'timestamp', 'uptime']);
const NUMBER = /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** A CSV report's header: which column holds the time, and the telemetry key of every other one. */
export interface CsvHeader {
  timeColumn: number;
  timeKind: 'ts' | 'uptime';
  keys: (string | null)[];
}

function splitCsv(text: string): string[] {
  // Most lines have no quotes: a split is exact for them. Quoted fields go to csv-parse.
  if (!text.includes('"')) return text.split(',');
  let rows: string[][];
  try {
    rows = parseCsvLine(text, { relax_column_count: true }) as string[][];
  } catch (err) {
    throw new LineError('malformed_csv', (err as Error).message);
  }
  if (rows.length !== 1) throw new LineError('malformed_csv', 'a line must hold exactly one record (no line breaks inside quotes)');
  return rows[0]!;
}

/** Line 1 of a CSV report: `ts,<key>,…` (or `timestamp` or `uptime` for the time column). */
export function parseCsvHeader(text: string): CsvHeader {
  let cells: string[];
  try {
    cells = splitCsv(text).map((c) => c.trim());
  } catch (err) {
    throw new ReportFormatError(`the CSV header is not valid CSV: ${(err as Error).message}`);
  }
  const times = cells.map((c, i) => [c.toLowerCase(), i] as const).filter(([c]) => TIME_COLUMNS.has(c));
  if (times.length !== 1) throw new ReportFormatError('the CSV header must name exactly one time column: ts, timestamp or uptime');
  const [name, timeColumn] = times[0]!;
  const seen = new Set<string>();
  const keys = cells.map((c, i) => {
    if (i === timeColumn) return null;
    if (c === '') throw new ReportFormatError(`column ${i + 1} of the CSV header has no name`);
    if (seen.has(c)) throw new ReportFormatError(`the CSV header names ${c} twice`);
    seen.add(c);
    return c;
  });
  if (seen.size === 0) throw new ReportFormatError('the CSV header names no telemetry key');
  return { timeColumn, timeKind: name === 'uptime' ? 'uptime' : 'ts', keys };
}

/** A cell as a value: a number, true or false, or else the text itself. Empty: no value. */
function cellValue(cell: string): unknown {
  if (cell === '') return undefined;
  if (NUMBER.test(cell)) return Number(cell);
  if (cell === 'true') return true;
  if (cell === 'false') return false;
  return cell;
}

/** The points of one CSV data line. */
export function decodeCsvLine(text: string, header: CsvHeader, clock: ReportClock): IngestPoint[] {
  return guarded(() => {
    const cells = splitCsv(text);
    if (cells.length !== header.keys.length) {
      throw new LineError('wrong_column_count', `the line has ${cells.length} columns, the header ${header.keys.length}`);
    }
    const values: Record<string, unknown> = {};
    for (let i = 0; i < cells.length; i++) {
      const key = header.keys[i];
      if (key === null || key === undefined) continue;
      const v = cellValue(cells[i]!.trim());
      if (v !== undefined) values[key] = v;
    }
    const time = cells[header.timeColumn]!.trim();
    if (time === '') throw new LineError('missing_timestamp', `the ${header.timeKind} column is empty`);
    const ts = header.timeKind === 'uptime' ? wallTimeMs(clock, NUMBER.test(time) ? Number(time) : time) : NUMBER.test(time) ? Number(time) : time;
    return decodeTelemetry({ ts, values }, clock.receivedAtUs, { deviceId: null, jwt: null });
  });
}
