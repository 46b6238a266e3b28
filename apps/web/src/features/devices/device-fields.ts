import { parseJsonText } from '../../lib/json-text';

/** "a, b ,,c" → ["a","b","c"], without duplicates. */
export function parseTags(text: string): string[] {
  return [
    ...new Set(
      text
        .split(',')
        .map((t) => t.trim())
        .filter(Boolean),
    ),
  ];
}

/** Metadata is edited as a JSON object; anything else is refused with a reason. */
export function parseMetadata(text: string): { ok: true; value: Record<string, unknown> } | { ok: false; error: string } {
  if (!text.trim()) return { ok: true, value: {} };
  const parsed = parseJsonText(text);
  if (!parsed.ok) return parsed;
  const v = parsed.value;
  if (!v || typeof v !== 'object' || Array.isArray(v)) return { ok: false, error: 'Metadata must be a JSON object, e.g. {"room": "basement"}.' };
  return { ok: true, value: v as Record<string, unknown> };
}
