/**
 * JSON that parses but that PostgreSQL's jsonb cannot store, or should not:
 * found when the input is decoded, so it gets a precise 4xx or MQTT reason
 * instead of failing a database batch (or, on PGlite, wedging the database:
 * issue 20).
 */

/** Nesting deeper than this is refused: no reading needs it, and it costs the database dearly. */
export const MAX_JSON_DEPTH = 32;

/** A NUL character, or half of a UTF-16 surrogate pair: valid JSON text that jsonb refuses. */
// eslint-disable-next-line no-control-regex -- NUL is exactly what jsonb refuses
const UNSTORABLE_CHAR = /[\u0000\p{Cs}]/u;

export class UnstorableJsonError extends Error {
  constructor(
    readonly kind: 'too_deep' | 'unstorable_value',
    message: string,
  ) {
    super(message);
    this.name = 'UnstorableJsonError';
  }
}

/**
 * Throws UnstorableJsonError for strings or keys with \u0000 or an unpaired
 * surrogate, numbers out of range (1e999 parses to Infinity), and nesting
 * deeper than `maxDepth`. One walk over the parsed value.
 */
export function assertStorableJson(v: unknown, maxDepth = MAX_JSON_DEPTH): void {
  walk(v, 0, maxDepth);
}

function walk(v: unknown, depth: number, maxDepth: number): void {
  switch (typeof v) {
    case 'string':
      if (UNSTORABLE_CHAR.test(v))
        throw new UnstorableJsonError('unstorable_value', 'strings may not contain \\u0000 or unpaired UTF-16 surrogates (\\ud800–\\udfff)');
      return;
    case 'number':
      if (!Number.isFinite(v)) throw new UnstorableJsonError('unstorable_value', 'number is out of range');
      return;
    case 'object': {
      if (v === null) return;
      if (depth >= maxDepth) throw new UnstorableJsonError('too_deep', `JSON is nested deeper than ${maxDepth} levels`);
      if (Array.isArray(v)) {
        for (const x of v) walk(x, depth + 1, maxDepth);
        return;
      }
      for (const k in v) {
        if (UNSTORABLE_CHAR.test(k)) throw new UnstorableJsonError('unstorable_value', 'keys may not contain \\u0000 or unpaired UTF-16 surrogates');
        walk((v as Record<string, unknown>)[k], depth + 1, maxDepth);
      }
      return;
    }
    default:
      return;
  }
}
