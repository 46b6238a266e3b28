-- Rotating or revoking a device's credentials also invalidates the device JWTs
-- issued before: a JWT is valid only if issued at or after this instant.
ALTER TABLE devices ADD COLUMN credentials_valid_after timestamptz;
