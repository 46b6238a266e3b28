-- JWT signing keys (issue 20 §7), each encrypted (AES-256-GCM) with a key that is kept out of the
-- database: TETHER_JWT_SECRET or the data dir's key file. A backup of the database alone can forge
-- no token. The newest key not retired signs; retired ones still verify until the tokens they
-- signed have expired, then the server deletes them. The plaintext 'jwt_secret' setting of earlier
-- versions is moved here (encrypted) by the server on its first start, since SQL has no key to do it.
CREATE TABLE jwt_signing_keys (
  kid        text PRIMARY KEY,
  sealed     text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  retired_at timestamptz
);
