// Polls an API read every `everyMs` while the component is mounted, and again at once when
// `kick` changes (an event said the answer may have changed).
import { useEffect, useRef, useState } from "preact/hooks";

export function usePoll(read, everyMs, kick = 0) {
  const [state, setState] = useState({ data: null, error: null });
  const readRef = useRef(read);
  readRef.current = read;
  useEffect(() => {
    let stopped = false;
    let timer = null;
    const tick = async () => {
      clearTimeout(timer);
      try {
        const data = await readRef.current();
        if (!stopped) setState({ data, error: null });
      } catch (error) {
        if (!stopped) setState((s) => ({ data: s.data, error }));
      }
      if (!stopped) timer = setTimeout(tick, everyMs);
    };
    tick();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [everyMs, kick]);
  return state;
}
