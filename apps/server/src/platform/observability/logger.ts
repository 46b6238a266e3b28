import pino, { type Logger } from 'pino';

export type { Logger };

const REDACTED = '[redacted]';

/**
 * Credentials by their shape, wherever they sit in a line (a message, an error, a URL):
 * device tokens (dt_), API keys (tk_), refresh tokens (rt_), invitation and password-reset tokens (inv_, pr_) and JWTs (a base64url JSON header, "eyJ").
 */
const CREDENTIAL = /\b(?:dt|tk|rt|inv|pr)_[\w-]{16,}|\beyJ[\w-]*\.[\w-]+\.[\w-]*/g;
/** The ThingsBoard-style device API carries the access token as a path segment: /api/v1/{token}/telemetry. */
const TOKEN_IN_PATH = /(\/api\/v1\/)(?!device\/)[^/?#"\s\\]+(\/(?:telemetry|attributes)\b)/g;
/** ?token=… (live WebSocket) and other credentials in a query string. */
const SECRET_IN_QUERY = /([?&](?:token|access_token|refresh_token|api_key|password|jwt)=)[^&#"\s\\]*/gi;

/** Removes every credential from one log line (or any text bound for a log). */
export function scrubCredentials(text: string): string {
  return text.replace(CREDENTIAL, REDACTED).replace(TOKEN_IN_PATH, `$1${REDACTED}$2`).replace(SECRET_IN_QUERY, `$1${REDACTED}`);
}

/**
 * pino's error serializer, less what an error may carry of a request: PGlite attaches the
 * query's parameters (token hashes, payloads), Node's HTTP parser the raw bytes it refused
 * (headers included, Authorization too).
 */
function serializeError(err: unknown): unknown {
  const out = pino.stdSerializers.err(err as Error) as unknown as Record<string, unknown>;
  if (out && typeof out === 'object') {
    for (const k of ['params', 'queryOptions', 'rawPacket', 'config', 'request', 'response']) if (k in out) out[k] = REDACTED;
  }
  return out;
}

/**
 * Secrets never reach the log. Fields named for a secret are redacted; every line is then
 * scrubbed of credential-shaped text, whichever log call (ours, Fastify's, a library's) wrote it.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: undefined,
      serializers: { err: serializeError, error: serializeError },
      redact: {
        paths: [
          'password',
          '*.password',
          'newPassword',
          '*.newPassword',
          'token',
          '*.token',
          'accessToken',
          '*.accessToken',
          'refreshToken',
          '*.refreshToken',
          'jwt',
          '*.jwt',
          '*.jwt_token',
          'key',
          'apiKey',
          '*.apiKey',
          'secret',
          '*.secret',
          'authorization',
          'headers.authorization',
          'headers.cookie',
          '*.headers.authorization',
          '*.headers.cookie',
        ],
        censor: REDACTED,
      },
      hooks: { streamWrite: scrubCredentials },
    },
    destination,
  );
}
