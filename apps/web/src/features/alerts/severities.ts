import type { AlertSeverity } from '@tether/contracts';

/**
 * The contract's severities, most severe first. Restated here (checked against
 * the contract's type) because importing the value would pull the payload
 * schemas, and their validator library, into the bundle.
 */
export const SEVERITIES = ['critical', 'major', 'minor', 'warning', 'info'] as const satisfies readonly AlertSeverity[];
