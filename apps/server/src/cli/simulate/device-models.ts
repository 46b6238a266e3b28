/**
 * What each kind of virtual device says, message by message. Models are pure
 * state machines over an injected random source and clock, so they can be
 * tested without a broker.
 */
import type { AlertPayload, HeartbeatPayload, LocationPayload } from '@tether/contracts';
import type { TelemetryValues } from '@tether/device-sdk';
import type { SimulatedKind } from './options.js';

export type Uplink =
  | { channel: 'telemetry'; payload: TelemetryValues }
  | { channel: 'alerts'; payload: AlertPayload }
  | { channel: 'heartbeat'; payload: HeartbeatPayload }
  | { channel: 'location'; payload: LocationPayload };

export interface DeviceModel {
  readonly kind: SimulatedKind;
  /** The device's next message; `nowMs` drives anything that depends on elapsed time. */
  next(nowMs: number): Uplink;
  /** A `reset` command: uptime starts again from 0. */
  reboot?(nowMs: number): void;
}

/** Uniform in [0, 1), like Math.random. */
export type Random = () => number;

// Alerts are a fixed share of a device's messages, so faster rates surface them sooner:
// at the default 1 msg/s a boiler reports a gas leak about every five minutes.
const GAS_ALERT_CHANCE = 1 / 300;
const HARSH_BRAKE_CHANCE = 1 / 200;
// Now and then a boiler overheats: its temperature climbs past 80 °C for a minute or two at
// 1 msg/s, then cools back, so a rule such as "above 80 for 1 min, clear below 75" raises an
// alarm and clears it. About one episode every ten minutes per boiler.
const OVERHEAT_CHANCE = 1 / 600;

export function createDeviceModel(kind: SimulatedKind, random: Random, nowMs: number, health?: HeartbeatHealth): DeviceModel {
  switch (kind) {
    case 'boiler':
      return createBoiler(random);
    case 'heartbeat':
      return createHeartbeatSensor(random, nowMs, health);
    case 'truck':
      return createTruck(random, nowMs);
  }
}

/**
 * Seed 000: a boiler room sensor with a gas detector. It runs at 55–70 °C and,
 * now and then, overheats: a climb to 88–98 °C held for about a minute, then a
 * cool-down to its setpoint (issue 13's simulator, for alarm rules to see).
 */
export function createBoiler(random: Random): DeviceModel {
  const setpoint = 55 + random() * 15;
  let temperature = setpoint + (random() - 0.5) * 4;
  let humidity = 35 + random() * 30;
  /** While overheating: the peak it climbs to, and messages left at the peak. */
  let overheat: { peak: number; hold: number } | null = null;
  return {
    kind: 'boiler',
    next(): Uplink {
      if (random() < GAS_ALERT_CHANCE) {
        return { channel: 'alerts', payload: { message: 'Gas leakage detected', severity: 'critical', type: 'gas' } };
      }
      if (!overheat && random() < OVERHEAT_CHANCE) overheat = { peak: 88 + random() * 10, hold: 60 + Math.floor(random() * 60) };
      // A random walk pulled toward the setpoint (or, overheating, toward the peak), so readings drift but never run away.
      const target = overheat ? overheat.peak : setpoint;
      if (overheat && temperature >= overheat.peak - 1 && --overheat.hold <= 0) overheat = null;
      temperature += (random() - 0.5) * 0.6 + (target - temperature) * (overheat ? 0.08 : 0.03);
      humidity = clamp(humidity + (random() - 0.5) * 0.8, 5, 99);
      return { channel: 'telemetry', payload: { temperature: round(temperature, 1), humidity: round(humidity, 1) } };
    },
  };
}

/** How a heartbeat sensor's health goes: steady, noisy but healthy, or degrading until it dies. */
export type HealthBehaviour = 'healthy' | 'noisy' | 'degrading';

export interface HeartbeatHealth {
  behaviour: HealthBehaviour;
  /** Degrading: model time (ms after the sensor starts) when its gaps begin to grow. */
  onsetMs: number;
  /** Degrading: how long the gaps grow before it stops sending for good. */
  durationMs: number;
  /** Degrading: how many times its usual interval the gaps reach just before death. */
  finalFactor: number;
}

/**
 * A sensor's health, drawn at random. A degrading one starts to fail after
 * 30 min of normal life (a baseline to tell its decline from) plus up to
 * `onsetWithinMs` of model time, and dies 2–12 h of model time later, its gaps
 * growing to 4–10× their usual length on the way.
 */
export function drawHeartbeatHealth(behaviour: HealthBehaviour, random: Random, onsetWithinMs = 2 * 3_600_000): HeartbeatHealth {
  return {
    behaviour,
    onsetMs: 30 * 60_000 + random() * onsetWithinMs,
    durationMs: (2 + random() * 10) * 3_600_000,
    finalFactor: 4 + random() * 6,
  };
}

const HEALTHY: HeartbeatHealth = { behaviour: 'healthy', onsetMs: Infinity, durationMs: 0, finalFactor: 1 };

export interface HeartbeatSensor extends DeviceModel {
  readonly health: HeartbeatHealth;
  /**
   * The wait before the heartbeat after one sent `elapsedMs` of model time
   * after the sensor started, in multiples of its usual interval; null once it
   * has died (it sends nothing more).
   *
   * - healthy: 1 ± 5 %, a missed beat (2×) one time in 200;
   * - noisy: log-normal jitter (σ 0.3) around 1, a missed beat one time in 25,
   *   two in a row one time in 100;
   * - degrading: healthy until its onset, then the mean grows as 1 + (F − 1)·p²
   *   (p: share of its decline gone by), with jitter and missed beats rising
   *   with p; at p = 1 it dies.
   */
  nextGap(elapsedMs: number): number | null;
}

/** Seed 001: a sensor that only reports its own health, and may be failing. */
export function createHeartbeatSensor(random: Random, nowMs: number, health: HeartbeatHealth = HEALTHY): HeartbeatSensor {
  let bootedAtMs = nowMs - random() * 30 * 86_400_000;
  let battery = 40 + random() * 60;
  const drainPerBeat = 0.002 + random() * 0.008;
  let rssi = -60 - random() * 30;
  const normal = () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  return {
    kind: 'heartbeat',
    health,
    reboot(now) {
      bootedAtMs = now;
    },
    nextGap(elapsedMs) {
      const missed = (share: number) => (random() < share ? (random() < 0.25 ? 3 : 2) : 1);
      switch (health.behaviour) {
        case 'healthy':
          return (1 + (random() - 0.5) * 0.1) * missed(1 / 200);
        case 'noisy':
          return Math.exp(normal() * 0.3) * missed(1 / 25);
        case 'degrading': {
          if (elapsedMs < health.onsetMs) return (1 + (random() - 0.5) * 0.1) * missed(1 / 200);
          const p = (elapsedMs - health.onsetMs) / health.durationMs;
          if (p >= 1) return null;
          const mean = 1 + (health.finalFactor - 1) * p * p;
          return mean * Math.exp(normal() * (0.05 + 0.25 * p)) * missed(1 / 200 + 0.15 * p);
        }
      }
    },
    next(now): Uplink {
      battery -= drainPerBeat;
      if (battery < 5) {
        // Someone swapped the battery, which also reboots the sensor.
        battery = 100;
        bootedAtMs = now;
      }
      rssi = clamp(rssi + (random() - 0.5) * 4, -110, -40);
      return {
        channel: 'heartbeat',
        payload: { uptime: Math.max(0, Math.round((now - bootedAtMs) / 1000)), battery: round(battery, 2), rssi: Math.round(rssi) },
      };
    },
  };
}

interface LatLon {
  lat: number;
  lon: number;
}

const DEPOTS: readonly LatLon[] = [
  { lat: 41.8781, lon: -87.6298 }, // Chicago
  { lat: 52.52, lon: 13.405 }, // Berlin
  { lat: -23.5505, lon: -46.6333 }, // São Paulo
  { lat: 12.9716, lon: 77.5946 }, // Bengaluru
  { lat: -33.8688, lon: 151.2093 }, // Sydney
];
const KM_PER_DEGREE = 111.32;
const TANK_LITRES = 400;
const LITRES_PER_KM = 0.35;
/** Longer gaps (a paused process, a stalled event loop) do not teleport the truck. */
const MAX_STEP_MS = 60_000;

/** Seed 003: a truck driving a loop around its depot. */
export function createTruck(random: Random, nowMs: number): DeviceModel {
  const route = randomRoute(random);
  let leg = 0;
  let legProgress = random();
  let speedKmh = 30 + random() * 50;
  const cruiseKmh = 50 + random() * 40;
  let fuelPct = 30 + random() * 70;
  let lastMs = nowMs;
  let locationNext = true;

  const position = (): LatLon => interpolate(route[leg]!, route[(leg + 1) % route.length]!, legProgress);

  const drive = (now: number) => {
    const hours = Math.min(Math.max(now - lastMs, 0), MAX_STEP_MS) / 3_600_000;
    lastMs = now;
    let km = speedKmh * hours;
    fuelPct -= ((km * LITRES_PER_KM) / TANK_LITRES) * 100;
    if (fuelPct < 8) fuelPct = 95 + random() * 5; // refuelled at the depot
    while (km > 0) {
      const legKm = distanceKm(route[leg]!, route[(leg + 1) % route.length]!);
      const leftKm = legKm * (1 - legProgress);
      if (km < leftKm) {
        legProgress += km / legKm;
        break;
      }
      km -= leftKm;
      leg = (leg + 1) % route.length;
      legProgress = 0;
    }
    speedKmh = clamp(speedKmh + (random() - 0.5) * 6 + (cruiseKmh - speedKmh) * 0.05, 0, 120);
  };

  return {
    kind: 'truck',
    next(now): Uplink {
      drive(now);
      if (random() < HARSH_BRAKE_CHANCE) {
        const before = speedKmh;
        speedKmh = Math.max(0, speedKmh - 25 - random() * 15);
        const at = position();
        // Seed 003: the dashcams' clips of the moment are named in the alert, then uploaded. The
        // alert carries its time, so a re-send after a lost PUBACK is the same alert.
        const stamp = new Date(now).toISOString().replace(/[-:]/g, '').replace('.', '');
        return {
          channel: 'alerts',
          payload: {
            message: 'Harsh braking detected',
            severity: 'major',
            type: 'harsh_brake',
            ts: now,
            data: { speedBefore: round(before, 1), speedAfter: round(speedKmh, 1), lat: round(at.lat, 6), lon: round(at.lon, 6) },
            files: [`brake-${stamp}-front.webm`, `brake-${stamp}-cab.webm`],
          },
        };
      }
      // Trucks alternate between a position fix and a telemetry reading.
      const locationTurn = locationNext;
      locationNext = !locationNext;
      if (locationTurn) {
        const at = position();
        const heading = Math.round(bearingDeg(route[leg]!, route[(leg + 1) % route.length]!)) % 360;
        return { channel: 'location', payload: { lat: round(at.lat, 6), lon: round(at.lon, 6), speed: round(speedKmh, 1), heading } };
      }
      return { channel: 'telemetry', payload: { speed: round(speedKmh, 1), fuel: round(fuelPct, 1) } };
    },
  };
}

/** A closed loop of waypoints 5–30 km around a depot, in bearing order so it does not cross itself. */
function randomRoute(random: Random): LatLon[] {
  const depot = DEPOTS[Math.floor(random() * DEPOTS.length)]!;
  const stops = 6 + Math.floor(random() * 4);
  const bearings = Array.from({ length: stops }, () => random() * 2 * Math.PI).sort((a, b) => a - b);
  return bearings.map((b) => {
    const km = 5 + random() * 25;
    return {
      lat: depot.lat + (km * Math.cos(b)) / KM_PER_DEGREE,
      lon: depot.lon + (km * Math.sin(b)) / (KM_PER_DEGREE * Math.cos((depot.lat * Math.PI) / 180)),
    };
  });
}

// Equirectangular approximations: exact enough over a few tens of kilometres.
function distanceKm(a: LatLon, b: LatLon): number {
  const x = (b.lon - a.lon) * Math.cos((((a.lat + b.lat) / 2) * Math.PI) / 180);
  const y = b.lat - a.lat;
  return Math.hypot(x, y) * KM_PER_DEGREE || 1e-9;
}

function bearingDeg(a: LatLon, b: LatLon): number {
  const x = (b.lon - a.lon) * Math.cos((((a.lat + b.lat) / 2) * Math.PI) / 180);
  const y = b.lat - a.lat;
  return ((Math.atan2(x, y) * 180) / Math.PI + 360) % 360;
}

function interpolate(a: LatLon, b: LatLon, t: number): LatLon {
  return { lat: a.lat + (b.lat - a.lat) * t, lon: a.lon + (b.lon - a.lon) * t };
}

function clamp(n: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, n));
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}
