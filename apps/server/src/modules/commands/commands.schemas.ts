import { COMMAND_STATUSES } from '@tether/contracts';
import { Type, type Static } from 'typebox';
import { ErrorBody, NullableTimestamp, Timestamp, Uuid, titled } from '../../platform/http/schemas.js';

export const CommandStatus = Type.Enum(COMMAND_STATUSES, { description: 'queued → sent → delivered → succeeded | failed | expired | timed-out | cancelled' });

export const Command = Type.Object({
  id: Uuid,
  deviceId: Uuid,
  name: Type.String(),
  params: Type.Record(Type.String(), Type.Unknown()),
  status: CommandStatus,
  timeoutMs: Type.Integer({ description: 'Milliseconds to wait for the acknowledgement after each send, and for the result after delivery' }),
  retries: Type.Integer({ description: 'Resends allowed when an MQTT send is not acknowledged' }),
  attempts: Type.Integer({ description: 'Sends so far' }),
  expiresAt: Timestamp,
  result: Type.Unknown({ description: 'What the device answered; null until then' }),
  error: Type.Union([Type.String(), Type.Null()], { description: 'Why it failed (from the device) or timed out' }),
  createdBy: Type.Object({
    kind: Type.Union([Type.Literal('user'), Type.Literal('api_key')]),
    id: Type.Union([Uuid, Type.Null()], { description: 'The user or API key that created it' }),
  }),
  createdAt: Timestamp,
  sentAt: NullableTimestamp,
  deliveredAt: NullableTimestamp,
  completedAt: NullableTimestamp,
});
export type Command = Static<typeof Command>;

export const CommandList = Type.Object({ items: Type.Array(Command) });

/** `?wait=true` without a result in time (504) or before a shutdown (503): the error, and the command as it is now. */
export const CommandStillOpen = Type.Object({ ...ErrorBody.properties, command: Command }, { description: 'No result yet; the command is still tracked' });

titled({ CommandStatus, Command, CommandList, CommandStillOpen });
