import type { Database } from '../../platform/db/database.js';
import type { Logger } from '../../platform/observability/logger.js';
import type { Metrics } from '../../platform/observability/metrics.js';
import type { DevicePlace, DevicesService } from '../devices/devices.service.js';
import type { DomainBus } from '../events/domain-events.js';
import type { IngestMessage } from '../ingest/ingest-message.js';
import { AlarmsRepository, type Changed, type Clear, type Occurrence, type Pair, type Window } from './alarms.repository.js';
import {
  rateChange,
  renderMessage,
  rulesFor,
  thresholdStep,
  type AlarmRule,
  type DeviceAlertClear,
  type HealthWarningCondition,
  type NoDataCondition,
  type RateCondition,
} from './rule-logic.js';
import type { RulesService } from './rules.service.js';

/** What this node knows of a device's place (project, template, name), and of a rule's alarm on a device: read again after this long. */
const PLACE_MS = 60_000;
const STATE_MS = 60_000;
/** The sweeper's period: duration windows that ran out, devices gone silent, device alerts due to clear. */
export const ALARM_SWEEP_MS = 10_000;
/** At most this many committed messages in one evaluation (one read of states, one transaction of decisions). */
const MAX_EVALUATION = 50_000;
/** A transaction of decisions that fails is tried this many times in all, 100 ms then 400 ms apart. */
const WRITE_ATTEMPTS = 3;

interface PairState {
  open: boolean;
  /** When the threshold's condition started to hold without a break (ms), or null. */
  pendingSince: number | null;
  /** A rate rule's recent values. */
  window: { ts: number; v: number }[];
  until: number;
}

const pairKey = (ruleId: string, deviceId: string) => `${ruleId}/${deviceId}`;

/** A device the fleet-health scan flags as at risk (the health module answers it). */
export interface WarnedDevice {
  deviceId: string;
  projectId: string | null;
  templateId: string | null;
  name: string;
  score: number;
  reasons: string[];
}
/** What health_warning rules need of fleet health: the org's flagged devices. */
export interface HealthWarnings {
  warned(orgId: string): Promise<WarnedDevice[]>;
}

export interface AlarmEvaluatorDeps {
  db: Database;
  bus: DomainBus;
  rules: Pick<RulesService, 'rulesOf'>;
  devices: Pick<DevicesService, 'places' | 'silent'>;
  /** Without it, health_warning rules raise nothing. */
  health?: HealthWarnings;
  logger: Logger;
  metrics?: Pick<Metrics, 'alarmBacklog' | 'alarmLag' | 'alarmFailures'>;
}

/** Raises and clears of different pairs, written together. */
type Step = { raises: Occurrence[]; clears: Clear[] };
const isRaise = (o: Occurrence | Clear): o is Occurrence => 'rule' in o;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const byPair = (a: Pair, b: Pair) => (a.ruleId < b.ruleId ? -1 : a.ruleId > b.ruleId ? 1 : a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0);

/**
 * Alarm evaluation, a consumer of committed data: each node evaluates the
 * batches its own ingest committed (`telemetry.stored`, never sent to other
 * nodes), so each message is evaluated once in a cluster, after its PUBACK,
 * never on its path. Batches committed while an evaluation runs are evaluated
 * together next, in commit order: however fast ingest commits, evaluation
 * costs one read and one transaction per round, and its backlog stays small
 * (metered: tether_alarm_evaluation_backlog_messages, _lag_seconds). Rules come
 * from the per-node cache; what a rule's alarm on a device is (open, a
 * duration window) is read once a minute per pair at most, in one query per
 * round. A round's decisions commit in one transaction: one upsert for every
 * raise and repeat, one update for clears, the duration windows.
 *
 * What outlives this process is in PostgreSQL: open alarms, and duration
 * windows (`alarm_pending`), which the sweeper raises when they run out, on
 * whichever worker node runs it. A rate rule's window of values is in memory
 * only: after a restart it fills again from new values.
 */
export class AlarmEvaluator {
  private readonly repo: AlarmsRepository;
  private readonly places = new Map<string, { place: DevicePlace; until: number }>();
  private readonly state = new Map<string, PairState>();
  /**
   * The rules that apply to each device, worked out once per device for as long
   * as its org's cached rule list (the same array) and its place stay the same:
   * not once per message, since a batch holds many messages of each device.
   */
  private readonly applicable = new WeakMap<readonly AlarmRule[], Map<DevicePlace, AlarmRule[]>>();
  /** Committed batches waiting for evaluation, in commit order, with when each arrived. */
  private queue: { batch: readonly IngestMessage[]; at: number }[] = [];
  private backlog = 0;
  private running: Promise<void> | null = null;
  private sweepTimer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(private readonly deps: AlarmEvaluatorDeps) {
    this.repo = new AlarmsRepository(deps.db);
  }

  /** Listens to this node's committed batches. */
  start(): void {
    const { bus } = this.deps;
    bus.on('telemetry.stored', ({ batch }) => {
      if (this.stopped) return;
      this.queue.push({ batch, at: performance.now() });
      this.backlog += batch.length;
      this.deps.metrics?.alarmBacklog.set(this.backlog);
      this.kick();
    });
    // Raised, cleared or acknowledged elsewhere (the sweeper, a user, another node): read it again.
    bus.on('alarm.changed', ({ ruleId, deviceId }) => {
      if (ruleId) this.state.delete(pairKey(ruleId, deviceId));
    });
    bus.on('alarm_rules.changed', () => this.state.clear());
    bus.on('device.deleted', ({ deviceId }) => void this.places.delete(deviceId));
  }

  /** Runs the sweeper on this node (the `worker` role). */
  startSweeper(): void {
    this.sweepTimer = setInterval(() => void this.sweep().catch((err: unknown) => this.deps.logger.warn({ err }, 'alarm sweep failed')), ALARM_SWEEP_MS);
    this.sweepTimer.unref();
  }

  /** Waits for the batches committed so far (tests, shutdown): the bus hands them over on a later turn, then their evaluation. */
  async idle(): Promise<void> {
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    while (this.running) await this.running;
  }

  private kick(): void {
    if (this.running) return;
    this.running = this.drain().finally(() => {
      this.running = null;
      if (this.queue.length) this.kick();
    });
  }

  /** Evaluates what is queued, everything committed meanwhile at once, until nothing is. */
  private async drain(): Promise<void> {
    while (this.queue.length) {
      const round: { batch: readonly IngestMessage[]; at: number }[] = [];
      let n = 0;
      while (this.queue.length && (n === 0 || n + this.queue[0]!.batch.length <= MAX_EVALUATION)) {
        const next = this.queue.shift()!;
        round.push(next);
        n += next.batch.length;
      }
      try {
        await this.evaluate(round.length === 1 ? round[0]!.batch : round.flatMap((r) => r.batch));
        const now = performance.now();
        for (const r of round) this.deps.metrics?.alarmLag.observe((now - r.at) / 1000);
      } catch (err) {
        // The decisions of this round are lost (their alarms' states are read again); the next round goes on.
        this.deps.metrics?.alarmFailures.inc();
        this.deps.logger.error({ err, messages: n }, 'alarm evaluation failed: these messages were not evaluated');
      } finally {
        this.backlog -= n;
        this.deps.metrics?.alarmBacklog.set(this.backlog);
      }
    }
  }

  /** Sweeps no more, and waits for the evaluations under way. */
  async stop(): Promise<void> {
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.stopped = true;
    await this.idle();
  }

  private async placesOf(ids: string[]): Promise<Map<string, DevicePlace>> {
    const now = Date.now();
    const out = new Map<string, DevicePlace>();
    const missing: string[] = [];
    for (const id of ids) {
      const hit = this.places.get(id);
      if (hit && hit.until > now) out.set(id, hit.place);
      else missing.push(id);
    }
    for (const p of await this.deps.devices.places(missing)) {
      this.places.set(p.deviceId, { place: p, until: now + PLACE_MS });
      out.set(p.deviceId, p);
    }
    return out;
  }

  /**
   * The state of these pairs for this round: those known (and not for too
   * long) from memory, the others read in two queries. The round works on
   * what this returns: an `alarm.changed` heard meanwhile drops a pair from
   * memory (to be read again next round), not from the round under way.
   */
  private async statesOf(pairs: Map<string, Pair>): Promise<Map<string, PairState>> {
    const now = Date.now();
    const out = new Map<string, PairState>();
    const missing: Pair[] = [];
    for (const [k, p] of pairs) {
      const held = this.state.get(k);
      if (held && held.until > now) out.set(k, held);
      else missing.push(p);
    }
    if (!missing.length) return out;
    const [open, pending] = await Promise.all([this.repo.openPairs(missing), this.repo.pending(missing)]);
    for (const p of missing) {
      const k = pairKey(p.ruleId, p.deviceId);
      const s = { open: open.has(k), pendingSince: pending.get(k) ?? null, window: this.state.get(k)?.window ?? [], until: now + STATE_MS };
      this.state.set(k, s);
      out.set(k, s);
    }
    return out;
  }

  async evaluate(batch: readonly IngestMessage[]): Promise<void> {
    // Only orgs with rules cost anything.
    const rulesByOrg = new Map<string, AlarmRule[]>();
    for (const m of batch) {
      const org = m.device.orgId;
      if (!rulesByOrg.has(org)) rulesByOrg.set(org, await this.deps.rules.rulesOf(org));
    }
    const relevant = batch.filter((m) => rulesByOrg.get(m.device.orgId)!.length);
    if (!relevant.length) return;
    const places = await this.placesOf([...new Set(relevant.map((m) => m.device.deviceId))]);

    // Which rules each message meets.
    const work: { m: IngestMessage; place: DevicePlace; rules: AlarmRule[] }[] = [];
    const pairs = new Map<string, { ruleId: string; deviceId: string }>();
    for (const m of relevant) {
      const place = places.get(m.device.deviceId);
      if (!place) continue; // deleted meanwhile
      const rules = this.rulesOf(rulesByOrg.get(m.device.orgId)!, place).filter((r) => this.meets(r, m));
      if (!rules.length) continue;
      work.push({ m, place, rules });
      for (const r of rules) pairs.set(pairKey(r.id, place.deviceId), { ruleId: r.id, deviceId: place.deviceId });
    }
    if (!work.length) return;
    const states = await this.statesOf(pairs);

    // Each pair's raises and clears in the order they happened (a raise and its repeats are one): a round may
    // hold a clear and a new raise of one pair, which must make a new alarm, not count on the cleared one.
    const ops = new Map<string, (Occurrence | Clear)[]>();
    const clear = (k: string, c: Clear) => {
      const list = ops.get(k) ?? [];
      const last = list.at(-1);
      if (last && !isRaise(last)) last.reason = c.reason;
      else list.push(c);
      ops.set(k, list);
    };
    const pendingOpen = new Map<string, Window>();
    const pendingClosed = new Map<string, Pair>();
    const raise = (rule: AlarmRule, place: DevicePlace, at: number, value: unknown, extra: Record<string, unknown>) => {
      const k = pairKey(rule.id, place.deviceId);
      const list = ops.get(k) ?? [];
      ops.set(k, list);
      const last = list.at(-1);
      const held = last && isRaise(last) ? last : undefined;
      const message = renderMessage(rule.message, {
        device: { name: place.name, id: place.deviceId },
        rule: { name: rule.name },
        value,
        key: rule.key,
        ...extra,
      });
      if (held) Object.assign(held, { count: held.count + 1, value, message, at: new Date(Math.max(held.at.getTime(), at)) });
      else list.push({ rule, deviceId: place.deviceId, projectId: place.projectId, message, value, count: 1, at: new Date(at) });
    };

    for (const { m, place, rules } of work) {
      for (const rule of rules) {
        const k = pairKey(rule.id, place.deviceId);
        const s = states.get(k)!;
        if (rule.kind === 'no_data') {
          // Heard from: a no-data alarm clears.
          if (s.open) {
            clear(k, { ruleId: rule.id, deviceId: place.deviceId, reason: 'the device sent data' });
            s.open = false;
          }
          continue;
        }
        if (rule.kind === 'device_alert') {
          const a = m.alert!;
          raise(rule, place, Math.floor(a.ts / 1000), { message: a.message, severity: a.severity, data: a.data }, { alert: a });
          s.open = true;
          continue;
        }
        for (const p of m.telemetry) {
          if (p.key !== rule.key || typeof p.value !== 'number' || !Number.isFinite(p.value)) continue;
          const v = p.value;
          const ts = Math.floor(p.ts / 1000);
          if (rule.kind === 'rate') {
            const c = rule.condition as RateCondition;
            s.window = s.window.filter((x) => x.ts >= ts - c.windowS * 1000 && x.ts <= ts);
            const fires = rateChange(rule, s.window, v);
            s.window.push({ ts, v });
            if (fires) {
              raise(rule, place, ts, v, {});
              s.open = true;
            } else if (s.open) {
              clear(k, { ruleId: rule.id, deviceId: place.deviceId, reason: `${rule.key} no longer changes by more than ${c.by} within ${c.windowS} s` });
              s.open = false;
            }
            continue;
          }
          const step = thresholdStep(rule, v, ts, s.pendingSince, s.open);
          switch (step.do) {
            case 'raise':
            case 'repeat':
              raise(rule, place, ts, v, {});
              s.open = true;
              if (s.pendingSince !== null) {
                s.pendingSince = null;
                pendingOpen.delete(k);
                pendingClosed.set(k, { ruleId: rule.id, deviceId: place.deviceId });
              }
              break;
            case 'clear':
              clear(k, { ruleId: rule.id, deviceId: place.deviceId, reason: `${rule.key} ${v}` });
              s.open = false;
              break;
            case 'pending':
              s.pendingSince = step.since;
              pendingClosed.delete(k);
              pendingOpen.set(k, { ruleId: rule.id, deviceId: place.deviceId, since: new Date(step.since), value: v, ts: new Date(ts) });
              break;
            case 'reset':
              s.pendingSince = null;
              pendingOpen.delete(k);
              pendingClosed.set(k, { ruleId: rule.id, deviceId: place.deviceId });
              break;
            case 'nothing':
              // Still within a window: its latest value, for the sweeper.
              if (s.pendingSince !== null)
                pendingOpen.set(k, { ruleId: rule.id, deviceId: place.deviceId, since: new Date(s.pendingSince), value: v, ts: new Date(ts) });
              break;
          }
        }
      }
    }
    try {
      // The first step of every pair, then the second (rarely any), ...
      const steps: Step[] = [];
      for (const list of ops.values())
        list.forEach((o, i) => {
          const step = (steps[i] ??= { raises: [], clears: [] });
          if (isRaise(o)) step.raises.push(o);
          else step.clears.push(o);
        });
      await this.write(steps, [...pendingOpen.values()], [...pendingClosed.values()]);
    } catch (err) {
      // What this node believed of these pairs was not written: read it again next time.
      for (const k of pairs.keys()) this.state.delete(k);
      throw err;
    }
  }

  private rulesOf(orgRules: readonly AlarmRule[], place: DevicePlace): AlarmRule[] {
    let byPlace = this.applicable.get(orgRules);
    if (!byPlace) this.applicable.set(orgRules, (byPlace = new Map()));
    let rules = byPlace.get(place);
    if (!rules) byPlace.set(place, (rules = rulesFor(orgRules, place)));
    return rules;
  }

  private meets(rule: AlarmRule, m: IngestMessage): boolean {
    switch (rule.kind) {
      case 'no_data':
        return true;
      case 'health_warning':
        return false; // the sweeper's
      case 'device_alert':
        // A replay of an alert already stored counts once, as it is stored once.
        return m.alert !== null && !m.alert.replay && (m.alert.type ?? '') === rule.key;
      default:
        return m.telemetry.some((p) => p.key === rule.key);
    }
  }

  /**
   * Writes raises, clears and duration windows atomically, mostly in one
   * statement (tried again after a transient failure), rows in (rule, device)
   * order so that writers on two nodes do not deadlock; then tells dashboards
   * and other nodes.
   */
  private async write(steps: Step[], windows: Window[], closed: Pair[]): Promise<void> {
    if (!steps.length && !windows.length && !closed.length) return;
    for (const step of steps) {
      step.raises.sort((a, b) => byPair({ ruleId: a.rule.id, deviceId: a.deviceId }, { ruleId: b.rule.id, deviceId: b.deviceId }));
      step.clears.sort(byPair);
    }
    windows.sort(byPair);
    closed.sort(byPair);
    let result: { raised: Changed[]; cleared: Changed[] };
    for (let attempt = 1; ; attempt++) {
      try {
        // Mostly one step: one statement, atomic by itself. A pair raised and cleared again within the round takes
        // more steps, one statement each, in a transaction; windows go with the first.
        result =
          steps.length <= 1
            ? await this.repo.decide({ ...steps[0], windows, closed })
            : await this.repo.transaction(async (tx) => {
                const out = { raised: [] as Changed[], cleared: [] as Changed[] };
                for (const [i, step] of steps.entries()) {
                  const r = await this.repo.decide(i === 0 ? { ...step, windows, closed } : step, tx);
                  out.raised.push(...r.raised);
                  out.cleared.push(...r.cleared);
                }
                return out;
              });
        break;
      } catch (err) {
        if (attempt >= WRITE_ATTEMPTS || this.stopped) throw err;
        this.deps.logger.warn({ err, attempt }, 'alarm decisions not written; trying again');
        await sleep(100 * 4 ** (attempt - 1));
      }
    }
    // Every node: dashboards, the notification outbox, and evaluators that knew the old state.
    for (const a of result.raised) this.changed(a, true);
    for (const a of result.cleared) this.changed(a, false);
  }

  private changed(a: Changed, open: boolean): void {
    this.deps.bus.emit('alarm.changed', { orgId: a.orgId, alarmId: a.id, ruleId: a.ruleId, deviceId: a.deviceId, projectId: a.projectId, open });
  }

  /**
   * The timed part, on a worker node: duration windows that ran out (the device
   * may have gone quiet meanwhile), devices silent past a no-data rule, and
   * device alerts due to clear without a repeat, and escalations. Worker nodes
   * take turns (a cluster-wide lock), so a window or a silence is raised once.
   */
  async sweep(now = new Date()): Promise<void> {
    // One node at a time: two sweeps reading the same due window or silent device would both raise it, and the
    // second would count as a repeat. The next one reads what the first wrote.
    await this.deps.db.withExclusiveLock('tether-alarm-sweep', () => this.sweepNow(now));
  }

  private async sweepNow(now: Date): Promise<void> {
    const raises: Occurrence[] = [];
    const clears: Clear[] = [];
    const due = await this.repo.duePending(now);
    const byId = new Map<string, AlarmRule>();
    for (const rule of await this.repo.rulesOfKinds(['threshold', 'no_data', 'device_alert', 'health_warning'])) byId.set(rule.id, rule);
    for (const d of due) {
      const rule = byId.get(d.ruleId);
      if (!rule) continue;
      raises.push({
        rule,
        deviceId: d.deviceId,
        projectId: d.projectId,
        value: d.value,
        count: 1,
        at: now,
        message: renderMessage(rule.message, { device: { name: d.deviceName, id: d.deviceId }, rule: { name: rule.name }, value: d.value, key: rule.key }),
      });
    }
    // No data: per org, the devices silent past its shortest such rule, then each device's own rules.
    const noData = [...byId.values()].filter((r) => r.kind === 'no_data' && r.enabled);
    for (const orgId of new Set(noData.map((r) => r.orgId))) {
      const orgRules = [...byId.values()].filter((r) => r.orgId === orgId);
      const shortest = Math.min(...noData.filter((r) => r.orgId === orgId).map((r) => (r.condition as NoDataCondition).silentS));
      const silent = await this.deps.devices.silent(orgId, shortest, now);
      const candidates: { rule: AlarmRule; device: (typeof silent)[number] }[] = [];
      for (const device of silent) {
        const silentFor = (now.getTime() - (device.lastSeenAt ?? device.createdAt).getTime()) / 1000;
        for (const rule of rulesFor(orgRules, device))
          if (rule.kind === 'no_data' && silentFor >= (rule.condition as NoDataCondition).silentS) candidates.push({ rule, device });
      }
      const open = await this.repo.openPairs(candidates.map((c) => ({ ruleId: c.rule.id, deviceId: c.device.deviceId })));
      for (const { rule, device } of candidates) {
        if (open.has(pairKey(rule.id, device.deviceId))) continue;
        const lastSeen = device.lastSeenAt?.toISOString() ?? null;
        raises.push({
          rule,
          deviceId: device.deviceId,
          projectId: device.projectId,
          value: { lastSeenAt: lastSeen },
          count: 1,
          at: now,
          message: renderMessage(rule.message, {
            device: { name: device.name, id: device.deviceId },
            rule: { name: rule.name },
            value: lastSeen,
            lastSeenAt: lastSeen,
          }),
        });
      }
    }
    await this.sweepHealth([...byId.values()], raises, clears, now);
    for (const rule of byId.values()) {
      if (rule.kind !== 'device_alert' || !rule.clear) continue;
      const afterS = (rule.clear as DeviceAlertClear).afterS;
      for (const p of await this.repo.openNotSeenSince(rule.id, new Date(now.getTime() - afterS * 1000)))
        clears.push({ ...p, reason: `no repeat for ${afterS} s` });
    }
    // Unacknowledged past their rule's escalation time: told to more targets (through the outbox).
    for (const a of await this.repo.escalateDue(now)) this.changed(a, true);
    const closed = due.map((d) => ({ ruleId: d.ruleId, deviceId: d.deviceId }));
    await this.write([{ raises, clears }], [], closed);
  }

  /**
   * health_warning rules: per org that has one, the devices the last health scan
   * flagged; each one's applicable rules raise if its score reaches their
   * minScore, and their open alarms on devices no longer flagged (or below it) clear.
   */
  private async sweepHealth(rules: AlarmRule[], raises: Occurrence[], clears: Clear[], now: Date): Promise<void> {
    const health = this.deps.health;
    const healthRules = rules.filter((r) => r.kind === 'health_warning');
    if (!health || !healthRules.length) return;
    const wanted = new Set<string>();
    const candidates: { rule: AlarmRule; device: WarnedDevice }[] = [];
    for (const orgId of new Set(healthRules.filter((r) => r.enabled).map((r) => r.orgId))) {
      const orgRules = rules.filter((r) => r.orgId === orgId);
      for (const device of await health.warned(orgId))
        for (const rule of rulesFor(orgRules, device))
          if (rule.kind === 'health_warning' && device.score >= (rule.condition as HealthWarningCondition).minScore) {
            candidates.push({ rule, device });
            wanted.add(pairKey(rule.id, device.deviceId));
          }
    }
    const open = await this.repo.openOfRules(healthRules.map((r) => r.id));
    const isOpen = new Set(open.map((p) => pairKey(p.ruleId, p.deviceId)));
    for (const { rule, device } of candidates) {
      if (isOpen.has(pairKey(rule.id, device.deviceId))) continue;
      const value = { score: device.score, reasons: device.reasons };
      raises.push({
        rule,
        deviceId: device.deviceId,
        projectId: device.projectId,
        value,
        count: 1,
        at: now,
        message: renderMessage(rule.message, {
          device: { name: device.name, id: device.deviceId },
          rule: { name: rule.name },
          value: device.score,
          score: device.score,
          reasons: device.reasons.join('; '),
        }),
      });
    }
    for (const p of open) if (!wanted.has(pairKey(p.ruleId, p.deviceId))) clears.push({ ...p, reason: 'the health scan no longer flags the device' });
  }
}
