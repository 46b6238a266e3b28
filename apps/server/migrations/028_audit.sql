-- The audit log answers "who did what, from where": the caller's address, as the
-- server saw it (behind a proxy, X-Forwarded-For). Text, not inet: a forwarded
-- header that is not an address must not fail the write it describes.
ALTER TABLE audit_log ADD COLUMN ip text;

-- GET /api/v1/audit filters an org's entries by action (exact or prefix, hence
-- text_pattern_ops) or by actor, newest first.
CREATE INDEX audit_log_org_action_idx ON audit_log (org_id, action text_pattern_ops, created_at DESC);
CREATE INDEX audit_log_org_actor_idx ON audit_log (org_id, actor_id, created_at DESC);
