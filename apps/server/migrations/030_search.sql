-- Search (issue 17): one box finds devices by name, serial, id, tags, metadata
-- and properties, projects by name and description, and properties by name and
-- value, case-insensitively. Every match is `ILIKE '%text%'`; pg_trgm's GIN
-- indexes answer that from the trigrams of the text instead of reading every
-- row, and its similarity() ranks what matched.
--
-- Without pg_trgm (a PostgreSQL without its contrib package, or a role that may
-- not create extensions) search works the same, unindexed, and ranks by length.
-- The embedded PGlite loads pg_trgm (platform/db/pglite.ts), so it has both.

-- A device's tags, and its metadata's keys and scalar values at any depth, as one
-- text each, so one trigram index covers each. The unit separator between items
-- never occurs in a search text (q refuses control characters), so a match
-- stays inside one tag, key or value. IMMUTABLE as an index needs: array_to_string
-- is only STABLE because of other element types' output functions, not text's.
CREATE FUNCTION tether_tags_text(tags text[]) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$ SELECT array_to_string(tags, E'\x1f') $$;

CREATE FUNCTION tether_metadata_text(doc jsonb) RETURNS text
  LANGUAGE sql IMMUTABLE PARALLEL SAFE
  AS $$
    SELECT coalesce(string_agg(item, E'\x1f'), '') FROM (
      SELECT jsonb_path_query(doc, 'strict $.** ? (@.type() == "object").keyvalue().key') #>> '{}' AS item
      UNION ALL
      SELECT jsonb_path_query(doc, 'strict $.** ? (@.type() != "object" && @.type() != "array")') #>> '{}'
    ) items
  $$;

DO $$
DECLARE
  trgm text;
BEGIN
  BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
  EXCEPTION WHEN feature_not_supported OR undefined_file OR insufficient_privilege THEN
    RAISE NOTICE 'pg_trgm is not available (%): search works without trigram indexes', SQLERRM;
  END;
  -- The extension's schema, which need not be on the search path (it may have been installed before).
  SELECT quote_ident(n.nspname) INTO trgm FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm';

  IF trgm IS NULL THEN
    -- How much of `t` the text `q` found in it covers: 1 for an equal length, less for a longer `t`.
    CREATE FUNCTION tether_similarity(t text, q text) RETURNS real
      LANGUAGE sql IMMUTABLE PARALLEL SAFE
      AS 'SELECT CASE WHEN t IS NULL OR t = '''' THEN 0 ELSE least(length(q)::real / length(t), 1) END';
    RETURN;
  END IF;

  -- Ranks matches: pg_trgm's share of trigrams in common (0 to 1).
  EXECUTE format('CREATE FUNCTION tether_similarity(t text, q text) RETURNS real LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS ''SELECT coalesce(%s.similarity(t, q), 0)''', trgm);

  -- GET /devices?q= and GET /search: what a device is found by.
  EXECUTE format('CREATE INDEX devices_name_trgm_idx ON devices USING gin (name %s.gin_trgm_ops)', trgm);
  EXECUTE format('CREATE INDEX devices_serial_trgm_idx ON devices USING gin (serial %s.gin_trgm_ops)', trgm);
  EXECUTE format('CREATE INDEX devices_tags_trgm_idx ON devices USING gin (tether_tags_text(tags) %s.gin_trgm_ops)', trgm);
  EXECUTE format('CREATE INDEX devices_metadata_trgm_idx ON devices USING gin (tether_metadata_text(metadata) %s.gin_trgm_ops)', trgm);
  -- GET /projects?q= and GET /search.
  EXECUTE format('CREATE INDEX projects_name_trgm_idx ON projects USING gin (name %s.gin_trgm_ops)', trgm);
  EXECUTE format('CREATE INDEX projects_description_trgm_idx ON projects USING gin (description %s.gin_trgm_ops)', trgm);
  -- GET /properties (now case-insensitive), GET /search, and the devices a property finds for GET /devices?q=.
  EXECUTE format('CREATE INDEX properties_name_trgm_idx ON properties USING gin (name %s.gin_trgm_ops)', trgm);
  EXECUTE format('CREATE INDEX properties_value_trgm_idx ON properties USING gin (value %s.gin_trgm_ops)', trgm);
END
$$;
