// The seed example, against the library and the embedded store: create a plan, start a run, report a few steps'
// status as an outside system would, attach an artifact, then query the run and the run history.
//   node examples/library-embedded-store.mjs          (keeps its data in ./.maestro/example.db)
import { mkdirSync, writeFileSync } from 'node:fs';
import { Engine, openStore, loadPlanFile } from 'maestro-conductor';

const store = await openStore(process.env.MAESTRO_STORE ?? 'sqlite://.maestro/example.db');
const engine = new Engine({ store });
try {
  // 1. Create (or find) the plan version.
  const { plan } = await engine.applyPlan(loadPlanFile(new URL('./release-plan.json', import.meta.url).pathname).plan);
  console.log(`plan ${plan.name} ${plan.plan_id} version ${plan.version.slice(0, 12)}`);

  // 2. Start a run: inputs are validated against the plan's inputs schema.
  const { run } = await engine.startRun(plan, { inputs: { version: '2.4.0' }, labels: { channel: 'stable' } });
  console.log(`run ${run.run_id} ${run.status}`);

  // 3. Simulate the outside world reporting step status.
  const stepOf = async (key) => (await engine.getRunDetail(run.run_id)).steps.find((step) => step.key === key);
  await engine.updateStepStatus(run.run_id, (await stepOf('build')).step_id, {
    status: 'running',
    logs_ref: 'https://ci.example/jobs/981',
  });
  await engine.updateStepStatus(run.run_id, (await stepOf('build')).step_id, {
    status: 'succeeded',
    outputs: { image: 'registry.example/app:2.4.0' },
  });
  await engine.updateStepStatus(run.run_id, (await stepOf('qa')).step_id, {
    status: 'succeeded',
    outputs: { approver: 'alice' },
  });

  // 4. Attach a sample artifact: a workspace file gets its sha256 and size.
  mkdirSync('out', { recursive: true });
  writeFileSync('out/release-notes.md', '# 2.4.0\n\n- faster builds\n');
  const artifact = await engine.attachArtifact(
    run.run_id,
    { type: 'document', path: 'out/release-notes.md', media_type: 'text/markdown' },
    (await stepOf('qa')).step_id,
  );
  console.log(`artifact ${artifact.name} sha256:${artifact.digest.sha256.slice(0, 16)} ${artifact.size_bytes} bytes`);

  await engine.updateStepStatus(run.run_id, (await stepOf('publish')).step_id, { status: 'succeeded' });

  // 5. Query the run (get_run) and the run history (list_runs).
  const detail = await engine.getRunDetail(run.run_id);
  console.log(
    `run ${detail.run.run_id} ${detail.run.status}: ${detail.steps.map((s) => `${s.key}=${s.status}`).join(' ')}`,
  );
  const history = await store.listRuns({ owner: 'release-eng', status: 'succeeded' }, { limit: 5 });
  console.log(`history: ${history.items.length} succeeded release runs, newest ${history.items[0].run_id}`);
  if (detail.run.status !== 'succeeded') process.exitCode = 1;
} finally {
  engine.close();
  await store.close();
}
