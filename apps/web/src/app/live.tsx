/**
 * The one live WebSocket of a signed-in dashboard. Pages declare what they want
 * to follow with useLiveEvents(); the connection (from the API client)
 * reconnects with backoff and re-subscribes by itself.
 */
import { createContext, useContext, useEffect, useRef, useState, type ReactNode } from 'react';
import type { LiveConnection } from '@tether/api-client';
import type { LiveChannel, LiveDeviceEvent } from '@tether/contracts';
import { useSession } from './session';

export type LiveState = 'connecting' | 'open' | 'reconnecting' | 'closed';

export interface LiveSpec {
  devices?: string[];
  project?: string;
  channels: LiveChannel[];
}

type Listener = (e: LiveDeviceEvent) => void;

/**
 * The dashboard's one org-wide subscription, held for the whole session: device
 * alerts for the alert feed, alarm changes for the alarm counts and lists.
 * Consumers listen with useLiveEvents(null, …).
 */
const ORG_WIDE: LiveSpec = { channels: ['alerts', 'alarms'] };

/** Subscriptions and listeners, kept across reconnects and before the socket exists. */
class LiveBus {
  private conn: LiveConnection | null = null;
  private readonly specs = new Map<number, { spec: LiveSpec; serverId: string | null }>();
  private readonly listeners = new Set<Listener>();
  /** Server ids of subscriptions the server has confirmed on the current socket. */
  private readonly acked = new Set<string>();
  private nextId = 1;
  onAckChange: ((count: number) => void) | null = null;

  attach(conn: LiveConnection) {
    this.conn = conn;
    for (const s of this.specs.values()) s.serverId = conn.subscribe(s.spec);
  }

  detach() {
    this.conn = null;
    for (const s of this.specs.values()) s.serverId = null;
    this.resetAcks();
  }

  /** A new socket starts with no subscriptions; the connection re-sends them. */
  resetAcks() {
    this.acked.clear();
    this.onAckChange?.(0);
  }

  ack(serverId: string) {
    if (![...this.specs.values()].some((s) => s.serverId === serverId)) return;
    this.acked.add(serverId);
    this.onAckChange?.(this.acked.size);
  }

  subscribe(spec: LiveSpec): () => void {
    const id = this.nextId++;
    const entry = { spec, serverId: this.conn ? this.conn.subscribe(spec) : null };
    this.specs.set(id, entry);
    return () => {
      this.specs.delete(id);
      if (entry.serverId && this.conn) this.conn.unsubscribe(entry.serverId);
      if (entry.serverId && this.acked.delete(entry.serverId)) this.onAckChange?.(this.acked.size);
    };
  }

  listen(fn: Listener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  emit(e: LiveDeviceEvent) {
    for (const l of [...this.listeners]) l(e);
  }
}

interface LiveContextValue {
  bus: LiveBus;
  state: LiveState;
  /** Counts re-opens after a drop: pages reload their data to fill the gap. */
  resumes: number;
  /** Subscriptions the server has confirmed on the current socket. */
  subscriptions: number;
}

const LiveContext = createContext<LiveContextValue | null>(null);

function useLiveContext(): LiveContextValue {
  const v = useContext(LiveContext);
  if (!v) throw new Error('useLive* outside LiveProvider');
  return v;
}

export function LiveProvider({ children }: { children: ReactNode }) {
  const { client } = useSession();
  const [bus] = useState(() => new LiveBus());
  const [state, setState] = useState<LiveState>('connecting');
  const [resumes, setResumes] = useState(0);
  const [subscriptions, setSubscriptions] = useState(0);

  useEffect(() => {
    bus.onAckChange = setSubscriptions;
    let opened = false;
    const conn = client.live({
      onEvent(msg) {
        if (msg.type === 'error') {
          // The socket was refused for its token: refresh, so the next attempt carries a valid one.
          if (msg.code === 'TOKEN_EXPIRED' || msg.code === 'UNAUTHORIZED') void client.refresh().catch(() => {});
          return;
        }
        if (msg.type === 'ready') bus.resetAcks();
        else if (msg.type === 'subscribed') bus.ack(msg.id);
        if (
          msg.type === 'telemetry' ||
          msg.type === 'alert' ||
          msg.type === 'status' ||
          msg.type === 'location' ||
          msg.type === 'command' ||
          msg.type === 'alarm' ||
          msg.type === 'ota'
        )
          bus.emit(msg);
      },
      onState(s) {
        setState(s);
        if (s === 'open') {
          if (opened) setResumes((n) => n + 1);
          opened = true;
        }
      },
    });
    bus.attach(conn);
    const offOrg = bus.subscribe(ORG_WIDE);
    return () => {
      offOrg();
      bus.detach();
      bus.onAckChange = null;
      conn.close();
    };
  }, [client, bus]);

  return <LiveContext.Provider value={{ bus, state, resumes, subscriptions }}>{children}</LiveContext.Provider>;
}

export function useLiveState(): { state: LiveState; resumes: number; subscriptions: number } {
  const { state, resumes, subscriptions } = useLiveContext();
  return { state, resumes, subscriptions };
}

/**
 * Follows `spec` (null: nothing) and calls `handler` for every live device
 * event on the socket; handlers filter by device and type themselves.
 */
export function useLiveEvents(spec: LiveSpec | null, handler: Listener) {
  const { bus } = useLiveContext();
  const ref = useRef(handler);
  useEffect(() => {
    ref.current = handler;
  });
  const key = spec && (spec.devices === undefined || spec.devices.length > 0) ? JSON.stringify(spec) : null;
  useEffect(() => {
    const off = bus.listen((e) => ref.current(e));
    const unsub = key ? bus.subscribe(JSON.parse(key) as LiveSpec) : () => {};
    return () => {
      off();
      unsub();
    };
  }, [bus, key]);
}
