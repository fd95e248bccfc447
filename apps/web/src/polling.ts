import { useEffect, useRef } from 'preact/hooks';

/**
 * Calls `tick` now and then every `intervalMs` (when it returns true, polling stops), one
 * call at a time, paused while the tab is hidden. Restarts when `deps` change.
 */
export function usePolling(tick: () => Promise<boolean | void>, intervalMs: number, deps: unknown[]): void {
  const latest = useRef(tick);
  latest.current = tick;
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = async () => {
      timer = undefined;
      if (stopped) return;
      if (document.hidden) {
        timer = setTimeout(run, intervalMs);
        return;
      }
      let done = false;
      try {
        done = (await latest.current()) === true;
      } catch {
        // the page shows the error; keep polling
      }
      if (!stopped && !done) timer = setTimeout(run, intervalMs);
    };
    void run();
    const wake = () => {
      if (!document.hidden && timer !== undefined) {
        clearTimeout(timer);
        void run();
      }
    };
    document.addEventListener('visibilitychange', wake);
    return () => {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      document.removeEventListener('visibilitychange', wake);
    };
  }, deps);
}
