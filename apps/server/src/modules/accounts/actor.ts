import { AppError } from '../errors.js';

export const ORG_ROLES = ['owner', 'admin', 'operator', 'viewer'] as const;
export type OrgRole = (typeof ORG_ROLES)[number];

const RANK: Record<OrgRole, number> = { viewer: 0, operator: 1, admin: 2, owner: 3 };

/** Who is calling: a signed-in user or an API key, always within exactly one org. */
export interface Actor {
  kind: 'user' | 'api_key';
  orgId: string;
  role: OrgRole;
  userId: string | null;
  apiKeyId: string | null;
  /** The address an HTTP request came from (trustProxy: the forwarded one), for the audit log. */
  ip?: string | null;
}

export const hasRole = (actor: Actor, min: OrgRole): boolean => RANK[actor.role] >= RANK[min];

export function requireRole(actor: Actor, min: OrgRole): void {
  if (!hasRole(actor, min)) throw new AppError('FORBIDDEN', `this action needs the ${min} role or higher`);
}

export const outranks = (a: OrgRole, b: OrgRole): boolean => RANK[a] >= RANK[b];
