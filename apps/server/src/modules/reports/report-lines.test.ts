import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { decodeCsvLine, decodeJsonLine, LineError, parseCsvHeader, readLines, ReportFormatError, wallTimeMs, type ReportClock } from './report-lines.js';

const DEVICE = '6f1c2b9e-4d3a-4f5e-8a7b-1c2d3e4f5a6b';
const RECEIVED_MS = Date.UTC(2024, 5, 15, 12, 0, 0);
const clock: ReportClock = { receivedAtUs: RECEIVED_MS * 1000, sentUptimeS: 1000 };

async function lines(chunks: (string | Buffer)[], max = 64) {
  const out = [];
  for await (const l of readLines(Readable.from(chunks.map((c) => Buffer.from(c))), max)) out.push(l);
  return out;
}

function reason(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof LineError) return err.reason;
    throw err;
  }
  throw new Error('no LineError');
}

describe('readLines', () => {
  it('splits across chunks, on LF and CRLF, skips blank lines and counts them, drops a BOM', async () => {
    expect(await lines(['\ufeffa,b\r\n1,', '2\n\n  \n3,4', '\r\n5,6'])).toEqual([
      { line: 1, text: 'a,b' },
      { line: 2, text: '1,2' },
      { line: 5, text: '3,4' },
      { line: 6, text: '5,6' },
    ]);
  });

  it('a line past the cap comes out as null, without being held, and the next line is whole', async () => {
    const long = 'x'.repeat(50);
    expect(await lines(['ok\n', long, long, '\nnext\n'], 64)).toEqual([
      { line: 1, text: 'ok' },
      { line: 2, text: null },
      { line: 3, text: 'next' },
    ]);
    // A multi-byte character split between chunks is kept whole.
    const euro = Buffer.from('€\n');
    expect(await lines([euro.subarray(0, 1), euro.subarray(1)])).toEqual([{ line: 1, text: '€' }]);
  });
});

describe('clock correction', () => {
  it('wall = received − (sent uptime − reading uptime)', () => {
    expect(wallTimeMs(clock, 400)).toBe(RECEIVED_MS - 600_000);
    expect(wallTimeMs(clock, 1000)).toBe(RECEIVED_MS);
    expect(reason(() => wallTimeMs(clock, 1000.5))).toBe('invalid_timestamp');
    expect(reason(() => wallTimeMs(clock, -1))).toBe('invalid_timestamp');
    expect(reason(() => wallTimeMs({ ...clock, sentUptimeS: null }, 1))).toBe('no_sent_uptime');
  });
});

describe('JSON lines', () => {
  const ms = (pts: { key: string; ts: number; value: unknown }[]) => pts.map((p) => [p.key, p.ts / 1000, p.value]);

  it('takes both telemetry shapes, arrays, and uptime as the clock only when there is no ts', () => {
    expect(ms(decodeJsonLine('{"ts":1718452800000,"values":{"t":1}}', clock, DEVICE))).toEqual([['t', 1718452800000, 1]]);
    expect(ms(decodeJsonLine('[{"uptime":990,"t":2},{"uptime":995,"values":{"t":3}}]', clock, DEVICE))).toEqual([
      ['t', RECEIVED_MS - 10_000, 2],
      ['t', RECEIVED_MS - 5_000, 3],
    ]);
    // With a ts, uptime is an ordinary reading.
    expect(ms(decodeJsonLine('{"ts":1718452800000,"uptime":5}', clock, DEVICE))).toEqual([['uptime', 1718452800000, 5]]);
  });

  it('refuses lines with ingest’s reasons, and a reading without its own time', () => {
    expect(reason(() => decodeJsonLine('{"t":', clock, DEVICE))).toBe('malformed_json');
    expect(reason(() => decodeJsonLine('{"t":1}', clock, DEVICE))).toBe('missing_timestamp');
    expect(reason(() => decodeJsonLine('{"ts":1718452800000,"t":1e999}', clock, DEVICE))).toBe('invalid_value');
    expect(reason(() => decodeJsonLine('{"ts":1718452800000,"t":null}', clock, DEVICE))).toBe('invalid_value');
    expect(reason(() => decodeJsonLine('{"ts":1718452800000}', clock, DEVICE))).toBe('invalid_payload');
    expect(reason(() => decodeJsonLine('42', clock, DEVICE))).toBe('invalid_payload');
    expect(reason(() => decodeJsonLine('{"ts":"2099-01-01T00:00:00Z","t":1}', clock, DEVICE))).toBe('invalid_timestamp');
    expect(reason(() => decodeJsonLine(`{"ts":1718452800000,"device_id":"${'0'.repeat(8)}-0000-4000-8000-000000000000","t":1}`, clock, DEVICE))).toBe(
      'identity_mismatch',
    );
  });
});

describe('CSV', () => {
  it('reads the header: one time column anywhere, keys for the others', () => {
    expect(parseCsvHeader('ts,temperature,humidity')).toEqual({ timeColumn: 0, timeKind: 'ts', keys: [null, 'temperature', 'humidity'] });
    expect(parseCsvHeader('temperature, Uptime')).toEqual({ timeColumn: 1, timeKind: 'uptime', keys: ['temperature', null] });
    for (const bad of ['temperature,humidity', 'ts,uptime,t', 'ts,t,t', 'ts,,t', 'ts']) expect(() => parseCsvHeader(bad), bad).toThrow(ReportFormatError);
  });

  it('types cells as numbers, booleans or text; an empty cell is no value', () => {
    const h = parseCsvHeader('ts,n,b,s');
    const pts = decodeCsvLine('2024-06-15T11:00:00Z,-1.5e3,true,"a ""quoted"", text"', h, clock);
    expect(pts.map((p) => [p.key, p.type, p.value])).toEqual([
      ['n', 'num', -1500],
      ['b', 'bool', true],
      ['s', 'str', 'a "quoted", text'],
    ]);
    expect(decodeCsvLine('2024-06-15T11:00:00Z,,,x', h, clock).map((p) => p.key)).toEqual(['s']);
    expect(reason(() => decodeCsvLine('2024-06-15T11:00:00Z,,,', h, clock))).toBe('invalid_payload');
    expect(reason(() => decodeCsvLine('2024-06-15T11:00:00Z,1', h, clock))).toBe('wrong_column_count');
    expect(reason(() => decodeCsvLine('2024-06-15T11:00:00Z,1,"x"y,1', h, clock))).toBe('malformed_csv');
    expect(reason(() => decodeCsvLine(',1,true,x', h, clock))).toBe('missing_timestamp');
  });
});
