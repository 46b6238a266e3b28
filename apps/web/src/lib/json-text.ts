/** JSON typed into a form field: parsed, or refused with a reason a person can act on. */
export type ParsedJson = { ok: true; value: unknown } | { ok: false; error: string };

export function parseJsonText(text: string): ParsedJson {
  const t = text.trim();
  if (!t) return { ok: false, error: 'Enter a JSON value, e.g. 42, true, "eco" or {"a": 1}.' };
  try {
    return { ok: true, value: JSON.parse(t) as unknown };
  } catch (e) {
    // The usual slip is a bare word where a JSON string needs quotes.
    const hint = /^[A-Za-z]/.test(t) && !/["{}[\]]/.test(t) ? ` Text needs double quotes: "${t}".` : '';
    return { ok: false, error: `Not valid JSON: ${(e as Error).message}.${hint}` };
  }
}

/** A value as it is edited: compact JSON on one line, indented when long. */
export function formatJsonText(value: unknown): string {
  const compact = JSON.stringify(value) ?? 'null';
  return compact.length > 60 ? JSON.stringify(value, null, 2) : compact;
}
