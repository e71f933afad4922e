import { useEffect, useState } from 'preact/hooks';

/** Where the console is: the hash, so a page can be reloaded or shared without the server knowing the routes. */
export type Route = { page: 'runs' } | { page: 'run'; runId: string; stepKey?: string };

export function parseRoute(hash: string): Route {
  const parts = hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  if (parts[0] === 'runs' && parts[1])
    return { page: 'run', runId: parts[1], ...(parts[2] ? { stepKey: parts[2] } : {}) };
  return { page: 'runs' };
}

export function runHref(runId: string, stepKey?: string): string {
  return `#/runs/${encodeURIComponent(runId)}${stepKey ? `/${encodeURIComponent(stepKey)}` : ''}`;
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const changed = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', changed);
    return () => removeEventListener('hashchange', changed);
  }, []);
  return route;
}
