/** What each org role may do in the dashboard; mirrors the server's requireRole checks. */
import type { Role } from '@tether/api-client';

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2, owner: 3 };

export const atLeast = (role: Role, min: Role): boolean => RANK[role] >= RANK[min];

export const ROLES: Role[] = ['owner', 'admin', 'operator', 'viewer'];

export const permissions = (role: Role) => ({
  editDevices: atLeast(role, 'operator'),
  /** Retire and unretire (fleet health: ends a device's lifespan). */
  retireDevices: atLeast(role, 'operator'),
  sendCommands: atLeast(role, 'operator'),
  /** Configuration values on the org, a project or a device. */
  editConfig: atLeast(role, 'operator'),
  /** Properties, notes and device photos. */
  editMetadata: atLeast(role, 'operator'),
  /** Anyone's note; everyone else may delete only their own. */
  deleteAnyNote: atLeast(role, 'admin'),
  /** Acknowledge, clear, assign and comment on alarms. */
  handleAlarms: atLeast(role, 'operator'),
  manageAlarmRules: atLeast(role, 'admin'),
  /** Describe firmware and upload its file; deleting one is for admins. */
  uploadFirmware: atLeast(role, 'operator'),
  deleteFirmware: atLeast(role, 'admin'),
  manageFleets: atLeast(role, 'operator'),
  /** Delete files devices uploaded (audited by the server). */
  deleteFiles: atLeast(role, 'operator'),
  /** Start, pause, resume, cancel and retry deployments. */
  deploy: atLeast(role, 'operator'),
  manageNotificationTargets: atLeast(role, 'admin'),
  createDevices: atLeast(role, 'admin'),
  /** Claim a device by the code on its label into a project, and unclaim it. */
  claimDevices: atLeast(role, 'operator'),
  deleteDevices: atLeast(role, 'admin'),
  rotateCredentials: atLeast(role, 'admin'),
  manageProjects: atLeast(role, 'admin'),
  manageUsers: atLeast(role, 'admin'),
  manageApiKeys: atLeast(role, 'admin'),
  /** Roles this role may grant: its own rank or lower. */
  grantable: ROLES.filter((r) => RANK[r] <= RANK[role]),
});

export type Permissions = ReturnType<typeof permissions>;
