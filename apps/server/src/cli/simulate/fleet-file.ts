/**
 * The devices file: the ids and tokens of simulated devices, so a later run
 * can reuse them (tokens are shown only once, when a device is created).
 */
import fs from 'node:fs/promises';
import { SIMULATED_KINDS, isSimulatedKind, type KindChoice, type SimulatedKind } from './options.js';

export interface FleetDevice {
  id: string;
  token: string;
  kind: SimulatedKind;
  name?: string;
  /** The firmware it runs: set once an OTA update installed one. */
  firmwareVersion?: string;
}

export class FleetFileError extends Error {}

/** The kind of the i-th device: mixed fleets cycle through the kinds so every count gets all of them. */
export function kindAt(choice: KindChoice, index: number): SimulatedKind {
  return choice === 'mixed' ? SIMULATED_KINDS[index % SIMULATED_KINDS.length]! : choice;
}

/**
 * Reads a JSON array of {id, token, kind?}. Entries without a kind get one from
 * `choice`; with a specific `choice`, entries of other kinds are left out.
 */
export async function readFleetFile(file: string, choice: KindChoice): Promise<FleetDevice[]> {
  let raw: unknown;
  try {
    raw = JSON.parse(await fs.readFile(file, 'utf8'));
  } catch (err) {
    throw new FleetFileError(`cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!Array.isArray(raw)) throw new FleetFileError(`${file}: expected a JSON array of {id, token, kind?}`);

  const fleet: FleetDevice[] = [];
  raw.forEach((entry: unknown, i) => {
    const e = (entry ?? {}) as Record<string, unknown>;
    if (typeof e.id !== 'string' || !e.id || typeof e.token !== 'string' || !e.token) {
      throw new FleetFileError(`${file}: entry ${i} needs string "id" and "token"`);
    }
    if (e.kind !== undefined && !isSimulatedKind(e.kind)) {
      throw new FleetFileError(`${file}: entry ${i} has kind "${String(e.kind)}"; expected one of ${SIMULATED_KINDS.join(', ')}`);
    }
    const kind = isSimulatedKind(e.kind) ? e.kind : kindAt(choice, i);
    if (choice !== 'mixed' && kind !== choice) return;
    fleet.push({
      id: e.id,
      token: e.token,
      kind,
      ...(typeof e.name === 'string' ? { name: e.name } : {}),
      ...(typeof e.firmwareVersion === 'string' ? { firmwareVersion: e.firmwareVersion } : {}),
    });
  });
  return fleet;
}

/** Owner-only permissions: the file holds device credentials. */
export async function writeFleetFile(file: string, fleet: FleetDevice[]): Promise<void> {
  await fs.writeFile(file, `${JSON.stringify(fleet, null, 2)}\n`, { mode: 0o600 });
}

/**
 * Records the devices' firmware versions in the file, leaving every other entry and field as
 * it was (a run may simulate only some of the file's devices).
 */
export async function recordFirmwareVersions(file: string, devices: readonly FleetDevice[]): Promise<void> {
  const raw = JSON.parse(await fs.readFile(file, 'utf8')) as Record<string, unknown>[];
  const versions = new Map(devices.filter((d) => d.firmwareVersion).map((d) => [d.id, d.firmwareVersion!]));
  for (const entry of raw) {
    const v = typeof entry.id === 'string' ? versions.get(entry.id) : undefined;
    if (v) entry.firmwareVersion = v;
  }
  await fs.writeFile(file, `${JSON.stringify(raw, null, 2)}\n`, { mode: 0o600 });
}
