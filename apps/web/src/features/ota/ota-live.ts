/**
 * OTA jobs, live: one org-wide subscription to the `ota` channel carries every
 * device's job transitions (a deployment can have more devices than a
 * device-list subscription may name), and pages keep the events of the
 * deployments they show.
 */
import type { LiveOtaEvent } from '@tether/contracts';
import { useLiveEvents } from '../../app/live';

/** Calls `handler` for each OTA event; `subscribe: false` only listens, to what another component's subscription brings. */
export function useOtaEvents(subscribe: boolean, handler: (e: LiveOtaEvent) => void) {
  useLiveEvents(subscribe ? { channels: ['ota'] } : null, (e) => {
    if (e.type === 'ota') handler(e);
  });
}
