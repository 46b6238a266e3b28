import { Type, type Static } from 'typebox';
import { NullableTimestamp, Timestamp, Uuid, titled } from '../../platform/http/schemas.js';
import { Role } from '../accounts/accounts.schemas.js';

export const InvitationStatus = Type.Union([Type.Literal('pending'), Type.Literal('accepted'), Type.Literal('expired'), Type.Literal('revoked')]);
export const MailStatus = Type.Union([Type.Literal('sent'), Type.Literal('failed'), Type.Literal('not_configured')], {
  description: 'What became of the e-mail: sent, failed (see mailError), or not_configured (no TETHER_SMTP_URL: pass the link on yourself)',
});

export const Invitation = Type.Object({
  id: Uuid,
  email: Type.String(),
  role: Role,
  status: InvitationStatus,
  invitedBy: Type.Union([Type.Object({ id: Uuid, email: Type.String() }), Type.Null()]),
  createdAt: Timestamp,
  expiresAt: Timestamp,
  acceptedAt: NullableTimestamp,
  acceptedBy: Type.Union([Uuid, Type.Null()]),
  revokedAt: NullableTimestamp,
  mail: MailStatus,
  mailError: Type.Union([Type.String(), Type.Null()]),
});
export type Invitation = Static<typeof Invitation>;
export const InvitationList = Type.Object({ items: Type.Array(Invitation) });
export const CreatedInvitation = Type.Object(
  {
    ...Invitation.properties,
    link: Type.String({
      description: 'The acceptance link, in the response once (only its hash is stored): to pass on by hand when the e-mail was not sent',
    }),
  },
  { title: 'CreatedInvitation' },
);

export const CreateInvitation = Type.Object(
  { email: Type.String({ minLength: 3, maxLength: 320 }), role: Type.Optional(Role) },
  { additionalProperties: false },
);
export const InvitationListQuery = Type.Object({
  status: Type.Optional(Type.Union([Type.Literal('pending'), Type.Literal('all')], { description: 'pending (default): those that can still be accepted' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
});

const Token = Type.String({ minLength: 10, maxLength: 200, description: 'The token from the link (after `#`)' });
export const InvitationTokenBody = Type.Object({ token: Token }, { additionalProperties: false });
export const InvitationPreview = Type.Object({
  org: Type.Object({ id: Uuid, name: Type.String() }),
  email: Type.String(),
  role: Role,
  invitedBy: Type.Union([Type.String(), Type.Null()], { description: 'Who invited: their name, or e-mail' }),
  expiresAt: Timestamp,
  accountExists: Type.Boolean({ description: 'true: accept with the password of the existing account; false: choose a password (and name)' }),
});
export const AcceptInvitation = Type.Object(
  {
    token: Token,
    password: Type.String({ minLength: 1, maxLength: 1024 }),
    name: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
);

titled({ InvitationStatus, MailStatus, Invitation, InvitationList, InvitationPreview });
