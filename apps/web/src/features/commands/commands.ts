/**
 * Commands to a device: the REST calls and how a live `command` event updates
 * the history on screen.
 */
import type { BodyOf, Command, TetherClient } from '@tether/api-client';
import type { LiveCommandEvent } from '@tether/contracts';

import { COMMAND_STATUSES, type CommandStatus } from '@tether/contracts';
export { COMMAND_STATUSES, type CommandStatus };
export type { Command };
export type SendCommandInput = BodyOf<'/api/v1/devices/{id}/commands', 'post'>;

/** Names offered for devices without a template; any name is accepted there. */
export const SUGGESTED_COMMANDS = ['reset', 'reboot', 'buzzer', 'led', 'servo'];

export const listCommands = (client: TetherClient, deviceId: string, limit: number) => client.commands.list(deviceId, { limit });
export const sendCommand = (client: TetherClient, deviceId: string, input: SendCommandInput) => client.commands.send(deviceId, input);
export const cancelCommand = (client: TetherClient, deviceId: string, commandId: string) => client.commands.cancel(deviceId, commandId);

const RANK: Record<CommandStatus, number> = { queued: 0, sent: 1, delivered: 2, succeeded: 3, failed: 3, expired: 3, 'timed-out': 3, cancelled: 3 };
const isStatus = (s: string): s is CommandStatus => (COMMAND_STATUSES as readonly string[]).includes(s);

/**
 * A command as a live event moves it on. Events and the POST answer can arrive
 * in either order, so a state never moves back (a final one never changes).
 * The event carries one time: it stamps the step the command just took.
 */
export function applyCommandEvent(c: Command, e: LiveCommandEvent['command']): Command {
  if (!isStatus(e.status) || RANK[e.status] < RANK[c.status] || (RANK[c.status] === 3 && e.status !== c.status)) return c;
  const at = e.updatedAt;
  const next: Command = { ...c, status: e.status, result: e.result ?? c.result, error: e.error ?? c.error };
  if (e.status === 'sent') {
    next.sentAt = c.sentAt && c.status === 'sent' ? at : (c.sentAt ?? at);
    next.attempts = c.status === 'sent' ? c.attempts + 1 : Math.max(c.attempts, 1);
  }
  if (e.status === 'delivered') next.deliveredAt = c.deliveredAt ?? at;
  if (RANK[e.status] === 3) next.completedAt = c.completedAt ?? at;
  return next;
}

/** Puts a command from the API into the list (newest first), keeping whichever copy is further along. */
export function upsertCommand(list: Command[], c: Command): Command[] {
  const i = list.findIndex((x) => x.id === c.id);
  if (i < 0) return [c, ...list].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  if (RANK[list[i]!.status] > RANK[c.status]) return list;
  const next = [...list];
  next[i] = c;
  return next;
}

/** When the command reached its current state. */
export function statusTime(c: Command): string {
  if (RANK[c.status] === 3) return c.completedAt ?? c.createdAt;
  if (c.status === 'delivered') return c.deliveredAt ?? c.createdAt;
  if (c.status === 'sent') return c.sentAt ?? c.createdAt;
  return c.createdAt;
}
