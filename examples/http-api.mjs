// The seed example, against the HTTP API: create a plan, start a run, report steps' status, attach an artifact,
// then query the run and the run history.
//   maestro serve --tokens tokens.json &            (tokens.json: {"tokens":[{"token":"…","owner":"release-eng","role":"runner"}]})
//   MAESTRO_API_URL=http://127.0.0.1:8080 MAESTRO_API_TOKEN=… node examples/http-api.mjs
import { readFileSync } from 'node:fs';

const base = process.env.MAESTRO_API_URL ?? 'http://127.0.0.1:8080';
const token = process.env.MAESTRO_API_TOKEN;
if (!token) throw new Error('set MAESTRO_API_TOKEN (and MAESTRO_API_URL)');

async function call(method, path, body) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const payload = await response.json();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${payload.code}: ${payload.detail}`);
  return payload;
}

const planSpec = JSON.parse(readFileSync(new URL('./release-plan.json', import.meta.url), 'utf8'));
delete planSpec.owner; // the token's owner owns what it creates

// 1. Create the plan (idempotent per version).
const { plan } = await call('POST', '/v1/plans', { plan: planSpec });
console.log(`plan ${plan.name} ${plan.plan_id} version ${plan.version.slice(0, 12)}`);

// 2. Start a run; the Idempotency-Key header would make a retry return the same run.
const run = await call('POST', '/v1/runs', { plan_id: plan.plan_id, inputs: { version: '2.4.0' } });
console.log(`run ${run.run_id} ${run.status}`);

// 3. Report step status as the outside systems would.
const steps = Object.fromEntries((await call('GET', `/v1/runs/${run.run_id}`)).steps.map((s) => [s.key, s.step_id]));
await call('PATCH', `/v1/runs/${run.run_id}/steps/${steps.build}`, {
  status: 'running',
  logs_ref: 'https://ci.example/jobs/981',
});
await call('PATCH', `/v1/runs/${run.run_id}/steps/${steps.build}`, {
  status: 'succeeded',
  outputs: { image: 'registry.example/app:2.4.0' },
});
await call('PATCH', `/v1/runs/${run.run_id}/steps/${steps.qa}`, {
  status: 'succeeded',
  outputs: { approver: 'alice' },
});

// 4. Attach an artifact by URL (files on the server's workspace get a digest; a URL is recorded as given).
const artifact = await call('POST', `/v1/runs/${run.run_id}/artifacts`, {
  type: 'document',
  name: 'release-notes',
  location: 'https://docs.example/releases/2.4.0',
  step_id: steps.qa,
});
console.log(`artifact ${artifact.artifact_id} ${artifact.location}`);
await call('PATCH', `/v1/runs/${run.run_id}/steps/${steps.publish}`, { status: 'succeeded' });

// 5. get_run and list_runs.
const detail = await call('GET', `/v1/runs/${run.run_id}`);
console.log(
  `run ${detail.run.run_id} ${detail.run.status}: ${detail.steps.map((s) => `${s.key}=${s.status}`).join(' ')}`,
);
const history = await call('GET', `/v1/runs?status=succeeded&plan_id=${plan.plan_id}&limit=5`);
console.log(`history: ${history.items.length} succeeded runs of ${plan.name}`);
if (detail.run.status !== 'succeeded') process.exitCode = 1;
