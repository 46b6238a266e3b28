/**
 * What the HTTP error handler answers with as it is: an error with a stable
 * `code` and an HTTP `status`. Domain errors (modules/errors.ts) have this
 * shape, and it is checked by shape, so this layer imports nothing from the
 * domain. Every other error is answered by the handler in server.ts.
 */
export interface CodedError extends Error {
  readonly code: string;
  readonly status: number;
  readonly details?: unknown;
}

/**
 * A `code` string and a numeric `status`, and no `statusCode`: Fastify's and
 * http-errors' errors carry `statusCode` (and some a system `code` such as
 * ENOENT); they keep their own mapping in server.ts.
 */
export function isCodedError(err: unknown): err is CodedError {
  const e = err as Partial<CodedError> & { statusCode?: unknown };
  return err instanceof Error && typeof e.code === 'string' && typeof e.status === 'number' && e.statusCode === undefined;
}

/** An error the HTTP layer raises itself about a request: a body it cannot store, too many attempts, a broken response contract. */
export class HttpError extends Error implements CodedError {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}
