/**
 * Matching a user's text in SQL, case-insensitively: `ILIKE` patterns (in which
 * the text's `\`, `%` and `_` match themselves; backslash is LIKE's default
 * escape) and the terms that rank what matched. Migration 030 indexes the
 * searched columns with pg_trgm, which serves `ILIKE '%text%'`, and defines
 * `tether_similarity` (pg_trgm's similarity, or a length ratio without it).
 */

export const likeEscaped = (text: string): string => text.replace(/[\\%_]/g, (c) => `\\${c}`);

/** Matches a text containing `text`. */
export const likeContaining = (text: string): string => `%${likeEscaped(text)}%`;

/** Matches a text starting with `text`. */
export const likeStartingWith = (text: string): string => `${likeEscaped(text)}%`;

/** A statement's parameter list: `bind` appends a value and answers its placeholder (`$3`). */
export function sqlParameters(initial: unknown[]): { values: unknown[]; bind(value: unknown): string } {
  const values = [...initial];
  return {
    values,
    bind(value) {
      values.push(value);
      return `$${values.length}`;
    },
  };
}

/** SQL conditions and rank terms for one search text, its patterns bound once each, when first used. */
export function textMatch(text: string, bind: (value: unknown) => string) {
  const bound = new Map<string, string>();
  const param = (kind: string, value: string) => {
    let p = bound.get(kind);
    if (p === undefined) bound.set(kind, (p = bind(value)));
    return p;
  };
  const contains = () => param('contains', likeContaining(text));
  const equals = () => param('equals', likeEscaped(text));
  const startsWith = () => param('startsWith', likeStartingWith(text));
  const any = (columns: string[], pattern: () => string) => columns.map((c) => `${c} ILIKE ${pattern()}`).join(' OR ');
  return {
    /** The column contains the text. */
    contains: (column: string) => `${column} ILIKE ${contains()}`,
    /** The column is the text (but for case). */
    equals: (column: string) => `${column} ILIKE ${equals()}`,
    /** Some column contains the text (parenthesized). */
    inAny: (columns: string[]) => `(${any(columns, contains)})`,
    /**
     * 0 when a column equals the text (or `also.equal` holds), 1 when one starts with it (or
     * `also.start` holds), 2 otherwise: an ORDER BY term, ascending.
     */
    tier: (columns: string[], also: { equal?: string; start?: string } = {}) =>
      `CASE WHEN ${[any(columns, equals), also.equal].filter(Boolean).join(' OR ')} THEN 0 ` +
      `WHEN ${[any(columns, startsWith), also.start].filter(Boolean).join(' OR ')} THEN 1 ELSE 2 END`,
    /** How similar the most similar column is to the text, 0 to 1: an ORDER BY term, descending. */
    similarity: (columns: string[]) => {
      const terms = columns.map((c) => `tether_similarity(${c}, ${param('text', text)})`);
      return terms.length === 1 ? terms[0]! : `greatest(${terms.join(', ')})`;
    },
  };
}
