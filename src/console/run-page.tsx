import { useEffect, useState } from 'preact/hooks';
import type { Principal, ProvenanceCheck, StepDocument } from '../generated/schemas.js';
import { ApiError, type ApiClient } from './api-client.js';
import { AttemptTimeline } from './attempt-timeline.js';
import { elapsed, formatTime } from './format.js';
import { LogPane } from './log-pane.js';
import { runHref } from './route.js';
import { RunActions } from './run-actions.js';
import { RunDag } from './run-dag.js';
import { ArtifactTable, EventList, ProvenanceFacts } from './run-facts.js';
import { StatusBadge } from './status-badge.js';
import { StepTable } from './step-table.js';
import { useNow, useRun } from './use-run.js';

/** One run: header and actions, DAG, steps, attempts over time, the selected step's log, artifacts, provenance, events. */
export function RunPage({
  api,
  principal,
  runId,
  stepKey,
}: {
  api: ApiClient;
  principal: Principal;
  runId: string;
  stepKey: string | undefined;
}) {
  const { detail, events, error, reload } = useRun(api, runId);
  const [actionError, setActionError] = useState('');
  const [provenance, setProvenance] = useState<ProvenanceCheck>();
  const running = detail !== undefined && !['succeeded', 'failed', 'cancelled'].includes(detail.run.status);
  const now = useNow(running);
  const canAct = principal.role !== 'reader';

  useEffect(() => {
    if (!detail || running) return;
    api.checkProvenance(runId).then(setProvenance, () => setProvenance(undefined));
  }, [api, runId, running, detail?.run.provenance.claim_ledger_manifest_paths.length]);

  if (error instanceof ApiError && error.status === 404)
    return (
      <main>
        <h1>Run not found</h1>
        <p role="alert">No run {runId} that this token may see.</p>
        <a href="#/runs">All runs</a>
      </main>
    );
  if (error && !detail)
    return (
      <main>
        <p role="alert" class="error">
          {String(error)}
        </p>
      </main>
    );
  if (!detail) return <main aria-busy="true">Loading run {runId}…</main>;

  const { run, steps, artifacts } = detail;
  const selected: StepDocument | undefined =
    steps.find((step) => step.key === stepKey) ??
    steps.find((step) => step.status === 'running' && step.uses !== undefined) ??
    steps.find((step) => step.uses !== undefined);
  const select = (step: StepDocument) => {
    location.hash = runHref(run.run_id, step.key);
  };
  const act = async (action: () => Promise<unknown>) => {
    setActionError('');
    try {
      await action();
      reload();
    } catch (failure) {
      setActionError(String(failure));
    }
  };

  return (
    <main>
      <nav aria-label="Breadcrumb" class="crumbs">
        <a href="#/runs">Runs</a>
        {run.parent_run_id && (
          <>
            {' / '}
            <a href={runHref(run.parent_run_id)}>parent run {run.parent_run_id}</a>
          </>
        )}
      </nav>
      <header class="run-header">
        <h1>
          {run.plan_name} <StatusBadge status={run.status} />
        </h1>
        <dl class="facts">
          <dt>Run</dt>
          <dd class="mono">{run.run_id}</dd>
          <dt>Owner</dt>
          <dd>{run.owner}</dd>
          <dt>Created</dt>
          <dd>{formatTime(run.created_at)}</dd>
          <dt>Duration</dt>
          <dd>{elapsed(run.started_at, run.ended_at, now)}</dd>
          <dt>Cost</dt>
          <dd>{run.usage.cost}</dd>
          {run.rerun_of && (
            <>
              <dt>Rerun of</dt>
              <dd>
                <a href={runHref(run.rerun_of.run_id)}>{run.rerun_of.run_id}</a> from {run.rerun_of.from_step}
              </dd>
            </>
          )}
          {run.error_info && (
            <>
              <dt>Error</dt>
              <dd class="bad">
                {run.error_info.code}: {run.error_info.message}
              </dd>
            </>
          )}
        </dl>
        {canAct && (
          <RunActions
            run={run}
            steps={steps}
            now={now}
            onCancel={() => void act(() => api.cancel(run.run_id))}
            onResume={() => void act(() => api.resume(run.run_id))}
            onRerun={(from) =>
              void act(async () => {
                location.hash = runHref((await api.rerun(run.run_id, from)).run_id);
              })
            }
          />
        )}
        {actionError && (
          <p role="alert" class="error">
            {actionError}
          </p>
        )}
      </header>
      <section aria-labelledby="dag-title">
        <h2 id="dag-title">Graph</h2>
        <div class="dag-scroll">
          <RunDag steps={steps} selected={selected?.key} onSelect={select} />
        </div>
      </section>
      <div class="split">
        <section aria-labelledby="steps-title">
          <h2 id="steps-title">Steps</h2>
          <StepTable
            steps={steps}
            now={now}
            selected={selected?.key}
            onSelect={select}
            canAct={canAct}
            onComplete={(step, status) => void act(() => api.completeStep(run.run_id, step.step_id, status))}
          />
          <h2>Attempts over time</h2>
          <AttemptTimeline steps={steps} events={events} now={now} />
        </section>
        {selected && <LogPane api={api} runId={run.run_id} step={selected} />}
      </div>
      <section aria-labelledby="artifacts-title">
        <h2 id="artifacts-title">Artifacts</h2>
        <ArtifactTable artifacts={artifacts} />
      </section>
      <section aria-labelledby="provenance-title">
        <h2 id="provenance-title">Provenance</h2>
        <ProvenanceFacts run={run} {...(provenance ? { verification: provenance } : {})} />
      </section>
      <section aria-labelledby="events-title">
        <h2 id="events-title">Events</h2>
        <EventList events={events} />
      </section>
    </main>
  );
}
