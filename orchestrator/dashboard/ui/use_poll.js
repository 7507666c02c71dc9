// Polls an API read every `everyMs` while the component is mounted and the tab is visible, and
// again at once when `kick` changes (an event said the answer may have changed) or the tab shows
// again: a dashboard left open in a background tab costs the cluster nothing.
import { useEffect, useRef, useState } from "preact/hooks";

export function usePoll(read, everyMs, kick = 0) {
  const [state, setState] = useState({ data: null, error: null });
  const readRef = useRef(read);
  readRef.current = read;
  useEffect(() => {
    let stopped = false;
    let timer = null;
    let reading = false;
    const tick = async () => {
      clearTimeout(timer);
      // Hidden: stop (visibilitychange starts it again); reading: that read re-arms the timer.
      if (document.hidden || reading) return;
      reading = true;
      try {
        const data = await readRef.current();
        if (!stopped) setState({ data, error: null });
      } catch (error) {
        if (!stopped) setState((s) => ({ data: s.data, error }));
      } finally {
        reading = false;
      }
      if (!stopped) timer = setTimeout(tick, everyMs);
    };
    const shown = () => !document.hidden && tick();
    document.addEventListener("visibilitychange", shown);
    tick();
    return () => {
      stopped = true;
      clearTimeout(timer);
      document.removeEventListener("visibilitychange", shown);
    };
  }, [everyMs, kick]);
  return state;
}
