import { Readable } from 'node:stream';
import { Type } from 'typebox';

/** One CSV field (RFC 4180): quoted when it holds a comma, quote or line break; null is empty. */
export function csvField(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'string' ? v : v instanceof Date ? v.toISOString() : typeof v === 'object' ? JSON.stringify(v) : String(v);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export const csvLine = (fields: readonly unknown[]) => `${fields.map(csvField).join(',')}\r\n`;

/**
 * A stream of CSV text from pages of rows: one page is read only when the
 * client has taken the previous one (Readable.from pulls), so an export of any
 * size holds one page in memory.
 */
export function csvStream(lines: AsyncIterable<string>): Readable {
  return Readable.from(lines, { objectMode: false });
}

/** The OpenAPI answer of a CSV export. */
export const CsvBody = (description: string) => ({
  description,
  content: { 'text/csv': { schema: Type.Unsafe<Readable>(Type.String({ description })) } },
});
