import { beforeEach, describe, expect, it } from 'vitest';
import { sharedAjv } from '../../src/schema/validators.js';
import { openStore } from '../../src/store/open.js';
import { startTestApi, type ApiClient } from '../support/api-server.js';

describe('/openapi.json', () => {
  let api: ApiClient;

  beforeEach(async () => {
    const store = await openStore('memory://');
    api = await startTestApi(store);
    return async () => {
      await api.close();
      await store.close();
    };
  });

  it('is OpenAPI 3.1 whose every route is reachable, and whose examples validate against their schemas', async () => {
    const spec = (await api.request('GET', '/openapi.json', { token: null })).body;
    expect(spec.openapi).toBe('3.1.0');
    const plan = (
      await api.request('POST', '/v1/plans', { body: { plan: { name: 'p', steps: [{ id: 's', uses: 'manual' }] } } })
    ).body.plan;
    const run = (await api.request('POST', '/v1/runs', { body: { plan_id: plan.plan_id } })).body;
    const step = (await api.request('GET', `/v1/runs/${run.run_id}`)).body.steps[0];
    const ids: Record<string, string> = { plan_id: plan.plan_id, run_id: run.run_id, step_id: step.step_id };
    const operations = Object.entries(spec.paths as Record<string, Record<string, unknown>>).flatMap(
      ([path, methods]) => Object.keys(methods).map((method) => ({ path, method })),
    );
    expect(operations.length).toBeGreaterThanOrEqual(14);
    for (const { path, method } of operations) {
      const url = path.replace(/\{(\w+)\}/g, (_, name: string) => ids[name]!);
      const response = await api.request(method.toUpperCase(), url, { ...(method === 'get' ? {} : { body: {} }) });
      // Reachable: the route exists (an empty body may be refused, but never as an unknown route) and no 5xx.
      expect(response.body?.code, `${method} ${path}`).not.toBe('NOT_FOUND');
      expect(response.status, `${method} ${path}`).toBeLessThan(500);
    }
    let examples = 0;
    for (const [name, schema] of Object.entries(spec.components.schemas as Record<string, { examples?: unknown[] }>)) {
      for (const example of schema.examples ?? []) {
        const validate = sharedAjv().getSchema(`${name.replace(/\./g, '/')}.schema.json`)!;
        expect(validate(example), `${name} example ${JSON.stringify(validate.errors)}`).toBe(true);
        examples += 1;
      }
    }
    expect(examples).toBeGreaterThanOrEqual(7);
  });

  it('serves a docs page', async () => {
    const docs = await fetch(`${api.baseUrl}/docs/`);
    expect(docs.status).toBe(200);
    expect(await docs.text()).toContain('swagger');
  });
});
