import { useCallback, useEffect, useRef, useState } from 'react';

/**
 * A counter to put in a load's dependencies: `bump()` on each live event, and
 * the count moves at most once every `ms` (and never sooner than `minDelayMs`
 * after a bump), so a busy stream of events makes a read a second, not one
 * each, and the last event of a burst is always followed by a read.
 */
export function useThrottledCounter(ms: number, minDelayMs = 0): [number, () => void] {
  const [count, setCount] = useState(0);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const last = useRef(0);
  useEffect(
    () => () => {
      if (timer.current) clearTimeout(timer.current);
    },
    [],
  );
  const bump = useCallback(() => {
    if (timer.current) return;
    const wait = Math.max(minDelayMs, last.current + ms - Date.now());
    timer.current = setTimeout(() => {
      timer.current = null;
      last.current = Date.now();
      setCount((n) => n + 1);
    }, wait);
  }, [ms, minDelayMs]);
  return [count, bump];
}
