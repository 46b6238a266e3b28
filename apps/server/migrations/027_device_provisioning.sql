-- Device provisioning, IMEI login and claim codes (issue 17).
--
-- serial: the device's serial number or IMEI, unique within its org. A device
-- that provisions itself is found again by it; a pre-registered one signs in by it.
ALTER TABLE devices ADD COLUMN serial text;
CREATE UNIQUE INDEX devices_org_serial_idx ON devices (org_id, serial) WHERE serial IS NOT NULL;

-- Claim codes: printed on the device's label, stored as a SHA-256 hash. A device
-- with a code and no claimed_at is unclaimed (no project); claiming puts it in
-- a project of the same org.
ALTER TABLE devices ADD COLUMN claim_code_hash text;
ALTER TABLE devices ADD COLUMN claimed_at timestamptz;
CREATE UNIQUE INDEX devices_org_claim_code_idx ON devices (org_id, claim_code_hash) WHERE claim_code_hash IS NOT NULL;

-- One provisioning key per project. The key names the project (devices carry it
-- in their firmware); the secret is kept only as a hash. allow_reprovision says
-- what a second request for a serial gets: false, a refusal; true, a new token
-- with the old one revoked.
CREATE TABLE provisioning_keys (
  project_id        uuid PRIMARY KEY REFERENCES projects (id) ON DELETE CASCADE,
  org_id            uuid NOT NULL REFERENCES orgs (id) ON DELETE CASCADE,
  key               text NOT NULL UNIQUE,
  secret_hash       text NOT NULL,
  enabled           boolean NOT NULL DEFAULT true,
  allow_reprovision boolean NOT NULL DEFAULT false,
  created_at        timestamptz NOT NULL DEFAULT now(),
  rotated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX provisioning_keys_org_idx ON provisioning_keys (org_id);
