/**
 * Domain errors: a stable code, a message and, for clients, the HTTP status of
 * the code. Services throw these; the HTTP error handler (platform/http/errors.ts)
 * answers with them by shape (`code`, `status`), so that layer imports nothing
 * from the domain.
 */
export const ERROR_STATUS = {
  VALIDATION_FAILED: 400,
  INVALID_ID: 400,
  INVALID_PAYLOAD: 400,
  UNAUTHORIZED: 401,
  INVALID_CREDENTIALS: 401,
  TOKEN_EXPIRED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  ORG_NOT_FOUND: 404,
  USER_NOT_FOUND: 404,
  PROJECT_NOT_FOUND: 404,
  DEVICE_NOT_FOUND: 404,
  CLAIM_CODE_NOT_FOUND: 404,
  DEVICE_ALREADY_CLAIMED: 409,
  DEVICE_NOT_CLAIMED: 409,
  SERIAL_TAKEN: 409,
  PROVISIONING_KEY_NOT_FOUND: 404,
  PROVISIONING_FAILED: 401,
  DEVICE_ALREADY_PROVISIONED: 409,
  API_KEY_NOT_FOUND: 404,
  TEMPLATE_NOT_FOUND: 404,
  COMMAND_NOT_FOUND: 404,
  NOTE_NOT_FOUND: 404,
  PROPERTY_NOT_FOUND: 404,
  PHOTO_NOT_FOUND: 404,
  RULE_NOT_FOUND: 404,
  TARGET_NOT_FOUND: 404,
  DELIVERY_NOT_FOUND: 404,
  TARGET_INVALID: 400,
  SMTP_NOT_CONFIGURED: 400,
  ALARM_NOT_FOUND: 404,
  FIRMWARE_NOT_FOUND: 404,
  FIRMWARE_VERSION_TAKEN: 409,
  FIRMWARE_ALREADY_UPLOADED: 409,
  FIRMWARE_NOT_UPLOADED: 409,
  FIRMWARE_CHECKSUM_MISMATCH: 400,
  UPLOAD_INCOMPLETE: 400,
  DOWNLOAD_LINK_INVALID: 403,
  DOWNLOAD_LINK_EXPIRED: 403,
  RANGE_NOT_SATISFIABLE: 416,
  FLEET_NOT_FOUND: 404,
  FLEET_SELECTOR_INVALID: 400,
  DEPLOYMENT_NOT_FOUND: 404,
  ALIAS_NOT_FOUND: 404,
  ALIAS_TAPS_INVALID: 400,
  ALIAS_KEY_INVALID: 400,
  DEPLOYMENT_INVALID: 400,
  DEPLOYMENT_EMPTY: 400,
  DEPLOYMENT_OVERLAP: 409,
  DEPLOYMENT_STATE_CONFLICT: 409,
  FIRMWARE_TEMPLATE_MISMATCH: 400,
  FIRMWARE_IN_USE: 409,
  OTA_JOB_NOT_FOUND: 404,
  REPORT_NOT_FOUND: 404,
  OTA_VERSION_REQUIRED: 400,
  OTA_VERSION_MISMATCH: 400,
  FILE_NOT_FOUND: 404,
  FILE_NAME_INVALID: 400,
  FILE_SIZE_REQUIRED: 400,
  FILE_EXISTS: 409,
  FILE_NOT_READY: 409,
  FILE_QUOTA_EXCEEDED: 413,
  FILE_TYPE_MISMATCH: 415,
  FILE_LINK_INVALID: 403,
  FILE_LINK_EXPIRED: 403,
  UPLOAD_OFFSET_CONFLICT: 409,
  ALERT_NOT_FOUND: 404,
  RULE_INVALID: 400,
  RULE_IMPOSSIBLE: 400,
  RULE_UNKNOWN_KEY: 400,
  COMMAND_NOT_IN_TEMPLATE: 400,
  COMMAND_NOT_CANCELLABLE: 409,
  COMMAND_TIMEOUT: 504,
  CONFLICT: 409,
  EMAIL_TAKEN: 409,
  NAME_TAKEN: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  RATE_LIMITED: 429,
  QUOTA_EXCEEDED: 429,
  INTERNAL: 500,
  INGEST_OVERLOADED: 503,
  UNAVAILABLE: 503,
  BROKER_UNAVAILABLE: 503,
} as const;
export type ErrorCode = keyof typeof ERROR_STATUS;

export class AppError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'AppError';
  }
  get status(): number {
    return ERROR_STATUS[this.code];
  }
}

export const notFound = (what: 'DEVICE' | 'PROJECT' | 'USER' | 'ORG' | 'API_KEY' | 'RULE' | 'ALARM', id?: string) =>
  new AppError(`${what}_NOT_FOUND`, `${what.toLowerCase().replace('_', ' ')} ${id ?? ''} not found`.replace(/\s+/g, ' ').trim());

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (v: string): boolean => UUID_RE.test(v);

/** A malformed id is a 400, never a database error. */
export function assertUuid(v: string, what = 'id'): string {
  if (!isUuid(v)) throw new AppError('INVALID_ID', `${what} must be a UUID`);
  return v.toLowerCase();
}
