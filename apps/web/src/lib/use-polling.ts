import { useEffect } from 'react';

/**
 * Calls `tick` every `ms` while `active` and the page is visible: for what the
 * server has no live event for (a device's file upload finishing).
 */
export function usePolling(tick: () => void, active: boolean, ms: number) {
  useEffect(() => {
    if (!active) return;
    const t = setInterval(() => {
      if (document.visibilityState === 'visible') tick();
    }, ms);
    return () => clearInterval(t);
  }, [tick, active, ms]);
}
