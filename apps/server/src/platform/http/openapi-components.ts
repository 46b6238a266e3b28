/**
 * Route schemas are inline TypeBox objects (so each route's types follow from them),
 * but a reader of the OpenAPI document, and the client types generated from it, want
 * named types. Every schema with a `title` is moved to `components.schemas` under that
 * title and referenced from where it was; a title used for two different schemas is an
 * error, caught when the document is built (the test suite builds it).
 */
type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

export function hoistTitledSchemas(doc: Json): Json {
  const components = (doc.components ??= {}) as Json;
  const schemas = (components.schemas ??= {}) as Record<string, Json>;
  const seen = new Map<string, string>();

  const visit = (node: unknown, inSchema: boolean): unknown => {
    if (Array.isArray(node)) return node.map((x) => visit(x, inSchema));
    if (!isObject(node)) return node;
    const out: Json = {};
    for (const [k, v] of Object.entries(node)) {
      // Inside a schema, `properties` maps names to schemas; anywhere, `schema` holds one.
      out[k] = visit(v, inSchema || k === 'schema');
    }
    const title = inSchema ? out.title : undefined;
    if (typeof title !== 'string') return out;
    const text = JSON.stringify(out);
    const earlier = seen.get(title);
    if (earlier !== undefined && earlier !== text) throw new Error(`OpenAPI: two different schemas are titled ${title}`);
    seen.set(title, text);
    schemas[title] = out;
    return { $ref: `#/components/schemas/${title}` };
  };

  const paths = visit(doc.paths, false);
  return { ...doc, paths };
}
