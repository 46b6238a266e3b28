-- Teams (issue 17, seed 004's Invitation): an admin invites an e-mail address
-- into the org with a role. The link carries a random token; only its hash is
-- stored. It expires, works once, and can be revoked; accepting it makes (or
-- signs in) the user and adds the membership in one transaction.
CREATE TABLE invitations (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  org_id      uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
  email       text NOT NULL,
  role        text NOT NULL CHECK (role IN ('owner', 'admin', 'operator', 'viewer')),
  token_hash  text NOT NULL UNIQUE,
  invited_by  uuid REFERENCES users (id) ON DELETE SET NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz NOT NULL,
  accepted_at timestamptz,
  accepted_by uuid REFERENCES users (id) ON DELETE SET NULL,
  revoked_at  timestamptz,
  -- What happened to the e-mail: sent, failed (with the SMTP error), not_configured.
  mail_status text NOT NULL,
  mail_error  text
);
CREATE INDEX invitations_org_idx ON invitations (org_id, created_at DESC);
-- One pending invitation per address and org: inviting again replaces it.
CREATE INDEX invitations_pending_idx ON invitations (org_id, lower(email)) WHERE accepted_at IS NULL AND revoked_at IS NULL;

-- Password reset by e-mail: a random token (hashed here), valid for an hour, once.
CREATE TABLE password_resets (
  token_hash text PRIMARY KEY,
  user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  used_at    timestamptz
);
CREATE INDEX password_resets_user_idx ON password_resets (user_id);
