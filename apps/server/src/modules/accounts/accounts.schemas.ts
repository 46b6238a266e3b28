import { Type, type Static } from 'typebox';
import { NullableTimestamp, Page, Timestamp, Uuid, titled } from '../../platform/http/schemas.js';
import { ORG_ROLES } from './actor.js';

export const Role = Type.Enum(ORG_ROLES);

export const PublicUser = Type.Object(
  {
    id: Uuid,
    email: Type.String(),
    name: Type.String(),
    role: Role,
    disabled: Type.Boolean(),
    createdAt: Timestamp,
  },
  { title: 'User' },
);
export type PublicUser = Static<typeof PublicUser>;
export const UserPage = Page(PublicUser, 'UserPage');

const OrgRef = Type.Object({ id: Uuid, name: Type.String() });
export const Session = Type.Object(
  {
    accessToken: Type.String(),
    refreshToken: Type.String(),
    expiresIn: Type.Integer({ description: 'Seconds the access token is valid' }),
    user: PublicUser,
    org: OrgRef,
  },
  { title: 'Session' },
);
export type Session = Static<typeof Session>;

export const Membership = Type.Object({ id: Uuid, name: Type.String(), role: Role }, { title: 'Membership' });
export const Me = Type.Union(
  [
    Type.Object({ ...PublicUser.properties, kind: Type.Literal('user'), orgId: Uuid, orgs: Type.Array(Membership) }),
    Type.Object({ id: Type.Null(), kind: Type.Literal('api_key'), role: Role, orgId: Uuid, orgs: Type.Array(Membership, { maxItems: 0 }) }),
  ],
  { title: 'Me', description: 'The signed-in user, or the API key in use' },
);

export const Org = Type.Object({ id: Uuid, name: Type.String(), createdAt: Timestamp, role: Role }, { title: 'Org' });
export const OrgList = Type.Object({ items: Type.Array(Org) });

export const ApiKey = Type.Object(
  {
    id: Uuid,
    name: Type.String(),
    role: Role,
    prefix: Type.String({ description: 'The first characters of the key, to tell keys apart' }),
    createdAt: Timestamp,
    lastUsedAt: NullableTimestamp,
    revokedAt: NullableTimestamp,
  },
  { title: 'ApiKey' },
);
export const ApiKeyList = Type.Object({ items: Type.Array(ApiKey) });
export const CreatedApiKey = Type.Object(
  { ...ApiKey.properties, key: Type.String({ description: 'The key itself: shown once, only its hash is stored' }) },
  { title: 'CreatedApiKey' },
);

titled({ Role, PublicUser, UserPage, Session, Membership, Me, Org, OrgList, ApiKey, ApiKeyList, CreatedApiKey });
