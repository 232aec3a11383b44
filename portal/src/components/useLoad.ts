import { useCallback, useEffect, useState } from 'react';

/**
 * Loads when `key` changes and on demand (`reload`), keeping the last value while a reload
 * runs; an answer that arrives after the screen moved on is dropped.
 */
export function useLoad<T>(load: () => Promise<T>, key: string): { value: T | undefined; error: string | undefined; reload: () => void } {
  const [value, setValue] = useState<T>();
  const [error, setError] = useState<string>();
  const [version, setVersion] = useState(0);
  useEffect(() => {
    let current = true;
    load().then(
      (v) => {
        if (!current) return;
        setValue(v);
        setError(undefined);
      },
      (e: unknown) => {
        if (current) setError(e instanceof Error ? e.message : String(e));
      },
    );
    return () => {
      current = false;
    };
    // `load` is a new closure each render; `key` says what it loads.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, version]);
  const reload = useCallback(() => setVersion((v) => v + 1), []);
  return { value, error, reload };
}
