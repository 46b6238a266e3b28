/**
 * Alarm changes, live: the org-wide subscription (the live provider's) carries
 * an `alarm` event whenever an alarm is raised, repeated, acknowledged,
 * assigned, commented or cleared. Counts by severity are read again on each,
 * and pages that list alarms read their list again: no polling.
 */
import { createContext, useContext, useEffect, useRef, useState, type ReactNode } from 'react';
import type { AlarmCounts } from '@tether/api-client';
import type { LiveAlarmEvent } from '@tether/contracts';
import { useSession } from '../../app/session';
import { useLiveEvents, useLiveState } from '../../app/live';
import { useAsync } from '../../lib/use-async';

interface AlarmLiveValue {
  counts: AlarmCounts | undefined;
  /** Counts alarm events (and live reconnects): a dependency for lists to read again. */
  version: number;
}

const AlarmLiveContext = createContext<AlarmLiveValue | null>(null);

export function AlarmLiveProvider({ children }: { children: ReactNode }) {
  const { client } = useSession();
  const { resumes } = useLiveState();
  const [events, setEvents] = useState(0);
  useLiveEvents(null, (e) => {
    if (e.type === 'alarm') setEvents((n) => n + 1);
  });
  // Several events in a burst (a raise and its notification outbox) make one read.
  const [settled, setSettled] = useState(0);
  useEffect(() => {
    const t = setTimeout(() => setSettled(events), 150);
    return () => clearTimeout(t);
  }, [events]);
  const counts = useAsync(() => client.alarms.counts(), [client, settled, resumes]);
  const value = { counts: counts.data, version: settled + resumes };
  return <AlarmLiveContext.Provider value={value}>{children}</AlarmLiveContext.Provider>;
}

function useAlarmLive(): AlarmLiveValue {
  const v = useContext(AlarmLiveContext);
  if (!v) throw new Error('useAlarm* outside AlarmLiveProvider');
  return v;
}

export const useAlarmCounts = () => useAlarmLive().counts;

/** Changes whenever any alarm of the org changes (or the live socket resumes). */
export const useAlarmVersion = () => useAlarmLive().version;

/** Changes when an alarm of this device changes (or the live socket resumes). */
export function useDeviceAlarmVersion(deviceId: string): number {
  const { resumes } = useLiveState();
  const [n, setN] = useState(0);
  const id = useRef(deviceId);
  id.current = deviceId;
  useLiveEvents(null, (e) => {
    if (e.type === 'alarm' && (e as LiveAlarmEvent).deviceId === id.current) setN((x) => x + 1);
  });
  return n + resumes;
}
