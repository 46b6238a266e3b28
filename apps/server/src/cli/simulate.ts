/**
 * `tether simulate`: virtual boilers, heartbeat sensors and trucks that talk
 * to Tether over MQTT, for demos and load tests. See `tether simulate --help`.
 */
import path from 'node:path';
import { ApiError } from '@tether/api-client';
import { FleetFileError, readFleetFile, recordFirmwareVersions, writeFleetFile, type FleetDevice } from './simulate/fleet-file.js';
import {
  DEFAULT_DEVICE_COUNT,
  SIMULATE_USAGE,
  SimulateOptionsError,
  mqttUrlFromServerInfo,
  parseSimulateArgs,
  type SimulateOptions,
} from './simulate/options.js';
import { ProgressReporter, formatSummary } from './simulate/progress.js';
import { createSimulatedDevices, findOrCreateProject, findOrCreateTemplate, signIn } from './simulate/provision.js';
import { Simulation, type SimulationResult } from './simulate/simulation.js';

const out = process.stdout;
/** Lingering sockets (HTTP keep-alive, say) must not hold the process open after the summary. */
const EXIT_GRACE_MS = 2_000;

export async function simulate(argv: string[]): Promise<void> {
  // `tether simulate | head` closes the pipe early: a reason to stop, not a stack trace.
  out.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    process.exit(0);
  });
  const parsed = parseOptionsOrExit(argv);
  if (!parsed) return;
  let mqttUrl = parsed.mqttUrl;
  try {
    mqttUrl ??= await discoverMqttUrl(parsed.url);
  } catch (err) {
    process.stderr.write(`${setupErrorText(err, parsed.url)}\nOr give the broker's address with --mqtt.\n`);
    process.exit(1);
  }
  const options: Resolved = { ...parsed, mqttUrl };

  let fleet: FleetDevice[];
  try {
    fleet = options.devicesFile ? await loadFleet(options, options.devicesFile) : await provisionFleet(options);
  } catch (err) {
    process.stderr.write(`${setupErrorText(err, options.url)}\n`);
    process.exit(1);
  }

  const result = await runWithProgress(fleet, options);
  out.write(formatSummary(result, options.qos));
  process.exitCode = result.everConnected > 0 ? 0 : 1;
  if (result.everConnected === 0) process.stderr.write(`No device could connect to ${options.mqttUrl}.\n`);
  setTimeout(() => process.exit(), EXIT_GRACE_MS).unref();
}

function parseOptionsOrExit(argv: string[]): SimulateOptions | null {
  try {
    const parsed = parseSimulateArgs(argv, process.env);
    if (parsed.help) {
      out.write(SIMULATE_USAGE);
      return null;
    }
    return parsed.options;
  } catch (err) {
    if (!(err instanceof SimulateOptionsError)) throw err;
    process.stderr.write(`${err.problems.map((p) => `tether simulate: ${p}`).join('\n')}\nSee: tether simulate --help\n`);
    process.exit(2);
  }
}

/** The options once the MQTT address is known. */
type Resolved = SimulateOptions & { mqttUrl: string };

async function discoverMqttUrl(url: string): Promise<string> {
  const res = await fetch(`${url}/api/v1/server-info`);
  if (!res.ok) throw new Error(`Tether at ${url} answered ${res.status} for /api/v1/server-info`);
  const mqtt = mqttUrlFromServerInfo(url, (await res.json()) as Parameters<typeof mqttUrlFromServerInfo>[1]);
  if (!mqtt) throw new Error(`Tether at ${url} runs no MQTT broker (its mqtt role is off)`);
  return mqtt;
}

async function loadFleet(options: Resolved, file: string): Promise<FleetDevice[]> {
  const all = await readFleetFile(file, options.kind);
  if (all.length === 0) throw new FleetFileError(`${file} holds no ${options.kind === 'mixed' ? '' : `${options.kind} `}devices`);
  const wanted = options.devices ?? all.length;
  if (wanted > all.length) out.write(`${file} holds ${all.length} matching devices, fewer than --devices ${wanted}: simulating those ${all.length}.\n`);
  return all.slice(0, wanted);
}

async function provisionFleet(options: Resolved): Promise<FleetDevice[]> {
  const api = await signIn(options.url, options.credentials!);
  const { project, created } = await findOrCreateProject(api, options.projectName);
  out.write(`${created ? 'Created project' : 'Using project'} "${project.name}" on ${options.url}.\n`);

  let templateId: string | null = null;
  if (options.templateName) {
    const template = await findOrCreateTemplate(api, options.templateName);
    templateId = template.id;
    out.write(`${template.created ? 'Created device template' : 'Using device template'} "${template.name}".\n`);
  }
  const count = options.devices ?? DEFAULT_DEVICE_COUNT;
  const showProgress = out.isTTY ? (done: number, total: number) => out.write(`\rCreating devices… ${done}/${total}`) : undefined;
  const fleet = await createSimulatedDevices(api, { count, kind: options.kind, projectId: project.id, templateId, onProgress: showProgress });
  if (showProgress) out.write('\n');

  await writeFleetFile(options.saveFile, fleet);
  const reuse = ['tether simulate', `--devices-file ${options.saveFile}`, `--mqtt ${options.mqttUrl}`];
  out.write(
    `Created ${fleet.length} devices (${fleet[0]!.name} …). Their ids and tokens are in ${path.resolve(options.saveFile)}; ` +
      `reuse them next time with: ${reuse.join(' ')}\n`,
  );
  return fleet;
}

async function runWithProgress(fleet: FleetDevice[], options: Resolved): Promise<SimulationResult> {
  const rate = options.rate ?? fleet.length;
  let reporter: ProgressReporter | null = null;
  // The devices file remembers each device's firmware after an update, for the next run.
  const fleetFile = options.devicesFile ?? options.saveFile;
  let saving: Promise<void> = Promise.resolve();
  const simulation = new Simulation(
    fleet,
    {
      mqttUrl: options.mqttUrl,
      rate,
      qos: options.qos,
      connectRate: options.connectRate,
      maxInFlight: options.inflight,
      durationMs: options.durationS === null ? null : options.durationS * 1000,
      firmwareVersion: options.firmwareVersion,
      ota: options.ota,
      httpUrl: options.url,
      videos: options.videos,
      health: options.health,
    },
    {
      notice: (message) => (reporter ? reporter.note(message) : out.write(`${message}\n`)),
      firmwareChanged: () => {
        saving = saving
          .then(() => recordFirmwareVersions(fleetFile, fleet))
          .catch((err: unknown) => reporter?.note(`could not update ${fleetFile}: ${String(err)}`));
      },
    },
  );
  reporter = new ProgressReporter(out, () => simulation.snapshot());

  const until = options.durationS === null ? 'until Ctrl-C' : `for ${options.durationS} s (Ctrl-C stops early)`;
  out.write(`Simulating ${describeFleet(fleet)} → ${options.mqttUrl}, ${rate} msg/s in total, QoS ${options.qos}, ${until}.\n`);

  const onSignal = (signal: NodeJS.Signals) => {
    reporter?.note(`${signal}: stopping; waiting a few seconds for outstanding acks (again to quit at once)…`);
    process.once(signal, () => process.exit(130));
    void simulation.stop(`stopped by ${signal}`);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  simulation.start();
  reporter.start();
  const result = await simulation.done;
  await saving;
  reporter.stop();
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  return result;
}

function describeFleet(fleet: FleetDevice[]): string {
  const byKind = new Map<string, number>();
  for (const d of fleet) byKind.set(d.kind, (byKind.get(d.kind) ?? 0) + 1);
  const kinds = [...byKind].map(([kind, n]) => `${n} ${kind}`).join(', ');
  return `${fleet.length} device${fleet.length === 1 ? '' : 's'} (${kinds})`;
}

function setupErrorText(err: unknown, url: string): string {
  if (err instanceof FleetFileError) return err.message;
  if (err instanceof ApiError) {
    if (err.status === 401) return `Tether at ${url} refused the sign-in: ${err.message}`;
    if (err.status === 403) return `Not allowed to create projects or devices on ${url}: ${err.message}`;
    return `Tether at ${url} answered ${err.status} ${err.code}: ${err.message}`;
  }
  // fetch reports an unreachable server as TypeError("fetch failed") with the socket error as its cause.
  const cause = err instanceof Error ? (err.cause as { code?: string; message?: string } | undefined) : undefined;
  if (err instanceof TypeError && cause) return `Cannot reach Tether at ${url}: ${cause.code ?? cause.message ?? 'connection failed'}`;
  return err instanceof Error ? (err.stack ?? err.message) : String(err);
}
