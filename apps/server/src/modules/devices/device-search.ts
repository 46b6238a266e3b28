import type { Actor } from '../accounts/actor.js';

/** A device property whose name or value contains a search text. */
export interface DevicePropertyMatch {
  deviceId: string;
  name: string;
  value: string;
}

/**
 * Device properties belong to the metadata module (its table): it answers which of
 * the org's devices have one containing a text, best matches first, for
 * GET /devices?q= and search.
 */
export interface DevicePropertyFinder {
  devicePropertiesContaining(actor: Actor, text: string, limit: number): Promise<DevicePropertyMatch[]>;
}

/** The id range of the uuids a typed id prefix stands for. */
export interface IdRange {
  from: string;
  to: string;
  /** The text was a whole id. */
  whole: boolean;
}

/** A shorter hex text is more likely a word or a number than the start of an id (4 digits: 1 device in 65,536). */
const MIN_ID_PREFIX = 4;

const uuidOf = (hex32: string) => `${hex32.slice(0, 8)}-${hex32.slice(8, 12)}-${hex32.slice(12, 16)}-${hex32.slice(16, 20)}-${hex32.slice(20)}`;

/**
 * The ids starting with `text`, typed or pasted as the id is written
 * (`3f2a1b2c-11…`) or without its dashes (`3f2a1b2c11…`), in any case; null
 * when the text cannot be the start of an id or is shorter than 4 digits.
 */
export function idPrefixRange(text: string): IdRange | null {
  const lower = text.trim().toLowerCase();
  const hex = lower.replaceAll('-', '');
  if (!/^[0-9a-f]+$/.test(hex) || hex.length < MIN_ID_PREFIX || hex.length > 32) return null;
  const from = uuidOf(hex.padEnd(32, '0'));
  if (lower.includes('-') && !from.startsWith(lower)) return null;
  return { from, to: uuidOf(hex.padEnd(32, 'f')), whole: hex.length === 32 };
}

/** Metadata values in a match's text are cut to this many characters. */
const MATCH_TEXT_MAX = 200;
const cut = (s: string) => (s.length > MATCH_TEXT_MAX ? `${s.slice(0, MATCH_TEXT_MAX - 1)}…` : s);

/**
 * The first key or scalar value of a device's metadata containing `needle` (lower
 * case), as `path: value` (a key holding an object or array: its path alone), or
 * null; the same keys and values migration 030's tether_metadata_text searches.
 */
export function metadataMatch(doc: unknown, needle: string, path = ''): string | null {
  if (doc === null || doc === undefined) return null;
  if (typeof doc !== 'object') return String(doc).toLowerCase().includes(needle) ? `${path}: ${cut(String(doc))}` : null;
  const entries: [string, unknown][] = Array.isArray(doc) ? doc.map((v, i) => [`${path}[${i}]`, v]) : Object.entries(doc);
  for (const [key, value] of entries) {
    const at = Array.isArray(doc) ? key : path ? `${path}.${key}` : key;
    if (!Array.isArray(doc) && key.toLowerCase().includes(needle)) return value !== null && typeof value === 'object' ? at : `${at}: ${cut(String(value))}`;
    const inner = metadataMatch(value, needle, at);
    if (inner) return inner;
  }
  return null;
}
