/**
 * The org-wide live alert feed: every page can show that a new alert arrived,
 * and the alerts page lists them. Live alert events carry no device name, so
 * names are looked up once per device.
 */
import { createContext, useCallback, useContext, useMemo, useRef, useState, type ReactNode } from 'react';
import type { LiveAlertEvent } from '@tether/contracts';
import { useLiveEvents } from '../../app/live';
import { useSession } from '../../app/session';

export interface FeedAlert {
  id: string;
  deviceId: string;
  deviceName: string | null;
  projectId: string | null;
  ts: string;
  message: string;
  severity: string;
  type: string | null;
  data: unknown;
  /** Names of the files the device said it uploads for the alert. */
  files: string[];
  /** When the dashboard received it (ms). */
  arrivedAt: number;
}

interface AlertFeedValue {
  items: FeedAlert[];
  /** Alerts that arrived since the alerts page was last looked at. */
  unseen: number;
  markSeen(): void;
}

const MAX_ITEMS = 200;
const AlertFeedContext = createContext<AlertFeedValue | null>(null);

export function useAlertFeed(): AlertFeedValue {
  const v = useContext(AlertFeedContext);
  if (!v) throw new Error('useAlertFeed outside AlertFeedProvider');
  return v;
}

export function AlertFeedProvider({ children }: { children: ReactNode }) {
  const { client } = useSession();
  const [items, setItems] = useState<FeedAlert[]>([]);
  const [unseen, setUnseen] = useState(0);
  const names = useRef(new Map<string, Promise<string | null>>());
  const seen = useRef(new Set<string>());

  const nameOf = useCallback(
    (deviceId: string) => {
      let p = names.current.get(deviceId);
      if (!p) {
        p = client.devices.get(deviceId).then(
          (d) => d.name,
          () => null,
        );
        names.current.set(deviceId, p);
      }
      return p;
    },
    [client],
  );

  // The org-wide subscription is the live provider's (it carries alerts and alarms).
  useLiveEvents(null, (e) => {
    if (e.type !== 'alert') return;
    const a = (e as LiveAlertEvent).alert;
    // Two subscriptions covering one device deliver its alert twice: keep the first.
    if (seen.current.has(a.id)) return;
    seen.current.add(a.id);
    const item: FeedAlert = { ...a, deviceId: e.deviceId, projectId: e.projectId, deviceName: null, arrivedAt: Date.now() };
    setItems((prev) => [item, ...prev].slice(0, MAX_ITEMS));
    setUnseen((n) => n + 1);
    void nameOf(e.deviceId).then((name) => {
      if (name) setItems((prev) => prev.map((p) => (p.deviceId === e.deviceId && !p.deviceName ? { ...p, deviceName: name } : p)));
    });
  });

  const markSeen = useCallback(() => setUnseen(0), []);
  const value = useMemo(() => ({ items, unseen, markSeen }), [items, unseen, markSeen]);
  return <AlertFeedContext.Provider value={value}>{children}</AlertFeedContext.Provider>;
}
