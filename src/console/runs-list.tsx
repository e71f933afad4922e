import { useEffect, useState } from 'preact/hooks';
import type { RunDocument } from '../generated/schemas.js';
import type { ApiClient } from './api-client.js';
import { elapsed, formatTime } from './format.js';
import { runHref } from './route.js';
import { StatusBadge } from './status-badge.js';

const STATUSES = ['', 'pending', 'running', 'succeeded', 'failed', 'cancelled'];
// The list has no event stream of its own: it is read again this often while open.
const REFRESH_MS = 2000;

interface Filters {
  status: string;
  owner: string;
  plan_id: string;
  created_after: string;
  created_before: string;
}

/**
 * A run's id as a link on one line: whole where there is room, its last 8 characters (the part that tells runs
 * created together apart) in a narrow window; the link's name is the whole id either way.
 */
function RunIdLink({ runId }: { runId: string }) {
  return (
    <a href={runHref(runId)} class="mono run-id" title={runId} aria-label={`run ${runId}`}>
      <span class="run-id-head">{runId.slice(0, -8)}</span>
      <span class="run-id-cut" aria-hidden="true">
        …
      </span>
      {runId.slice(-8)}
    </a>
  );
}

/** `list_runs` with its filters and cursor paging, newest first, refreshed while shown. */
export function RunsList({ api }: { api: ApiClient }) {
  const [filters, setFilters] = useState<Filters>({
    status: '',
    owner: '',
    plan_id: '',
    created_after: '',
    created_before: '',
  });
  // The cursors of the pages before this one, to page back.
  const [cursors, setCursors] = useState<string[]>([]);
  const [page, setPage] = useState<{ items: RunDocument[]; next_cursor?: string }>();
  const [error, setError] = useState('');
  const [now, setNow] = useState(Date.now());
  const cursor = cursors.at(-1);

  useEffect(() => {
    let stopped = false;
    const load = async () => {
      const query = new URLSearchParams({ limit: '25' });
      for (const [key, value] of Object.entries(filters) as Array<[keyof Filters, string]>)
        if (value) query.set(key, key.startsWith('created') ? new Date(value).toISOString() : value);
      if (cursor) query.set('cursor', cursor);
      try {
        const loaded = await api.listRuns(query);
        if (!stopped) {
          setPage(loaded);
          setError('');
          setNow(Date.now());
        }
      } catch (failure) {
        if (!stopped) setError(String(failure));
      }
    };
    void load();
    const timer = setInterval(() => void load(), REFRESH_MS);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [api, filters, cursor]);

  const field = (name: keyof Filters, label: string, kind: 'text' | 'datetime-local' = 'text') => {
    const onChange = (event: Event) => {
      setCursors([]);
      setFilters({ ...filters, [name]: (event.target as HTMLInputElement).value });
    };
    return (
      <label>
        {label}
        {kind === 'text' ? (
          <input type="text" value={filters[name]} onChange={onChange} />
        ) : (
          <input type="datetime-local" value={filters[name]} onChange={onChange} />
        )}
      </label>
    );
  };

  return (
    <main>
      <h1>Runs</h1>
      <form class="filters" aria-label="Filter runs" onSubmit={(event) => event.preventDefault()}>
        <label>
          Status
          <select
            value={filters.status}
            onChange={(event) => {
              setCursors([]);
              setFilters({ ...filters, status: (event.target as HTMLSelectElement).value });
            }}
          >
            {STATUSES.map((status) => (
              <option value={status}>{status || 'any'}</option>
            ))}
          </select>
        </label>
        {field('owner', 'Owner')}
        {field('plan_id', 'Plan id')}
        {field('created_after', 'Created after', 'datetime-local')}
        {field('created_before', 'Created before', 'datetime-local')}
      </form>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      <div class="table-scroll">
        <table aria-label="Runs" class="cards">
          <thead>
            <tr>
              <th scope="col">Run</th>
              <th scope="col">Plan</th>
              <th scope="col">Status</th>
              <th scope="col">Owner</th>
              <th scope="col">Created</th>
              <th scope="col">Duration</th>
              <th scope="col">Cost</th>
              <th scope="col">Parent</th>
            </tr>
          </thead>
          <tbody>
            {page?.items.map((run) => (
              <tr key={run.run_id}>
                <td data-label="Run">
                  <RunIdLink runId={run.run_id} />
                </td>
                <td data-label="Plan">{run.plan_name}</td>
                <td data-label="Status">
                  <StatusBadge status={run.status} />
                </td>
                <td data-label="Owner">{run.owner}</td>
                <td data-label="Created">{formatTime(run.created_at)}</td>
                <td data-label="Duration">{elapsed(run.started_at, run.ended_at, now)}</td>
                <td data-label="Cost">{run.usage.cost}</td>
                <td data-label="Parent">
                  {run.parent_run_id && (
                    <a href={runHref(run.parent_run_id)} class="mono" aria-label={`parent run ${run.parent_run_id}`}>
                      {run.parent_run_id.slice(-8)}
                    </a>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {page?.items.length === 0 && <p>No runs match.</p>}
      <nav class="pager" aria-label="Pages">
        <button type="button" disabled={cursors.length === 0} onClick={() => setCursors(cursors.slice(0, -1))}>
          Newer
        </button>
        <button
          type="button"
          disabled={!page?.next_cursor}
          onClick={() => page?.next_cursor && setCursors([...cursors, page.next_cursor])}
        >
          Older
        </button>
      </nav>
    </main>
  );
}
