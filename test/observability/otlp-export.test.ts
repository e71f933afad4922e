import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { jsonLines, MAESTRO_RUN, REPO_ROOT, runCli, startCli } from '../support/spawn-cli.js';

interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  attributes?: Array<{ key: string; value: Record<string, unknown> }>;
}

/** A bounded OTLP/HTTP (JSON) receiver on loopback: keeps every span and the service.name it came from. */
async function startReceiver(): Promise<{ url: string; spans: OtlpSpan[]; services: Set<string>; server: Server }> {
  const spans: OtlpSpan[] = [];
  const services = new Set<string>();
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      if (request.url === '/v1/traces' && request.method === 'POST') {
        expect(request.headers['content-type']).toMatch(/application\/json/);
        const decoded = JSON.parse(body) as {
          resourceSpans: Array<{
            resource: { attributes: Array<{ key: string; value: { stringValue?: string } }> };
            scopeSpans: Array<{ spans: OtlpSpan[] }>;
          }>;
        };
        for (const resourceSpans of decoded.resourceSpans) {
          const service = resourceSpans.resource.attributes.find((a) => a.key === 'service.name');
          if (service?.value.stringValue) services.add(service.value.stringValue);
          for (const scope of resourceSpans.scopeSpans) spans.push(...scope.spans);
        }
      }
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, spans, services, server };
}

const servers: Server[] = [];
afterEach(() => {
  for (const server of servers.splice(0)) server.close();
});

function otelEnv(endpoint: string): Record<string, string> {
  return { OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, OTEL_BSP_SCHEDULE_DELAY: '50' };
}

describe('OTLP export', () => {
  it('maestro-run sends its spans over OTLP/HTTP to the endpoint OTEL_EXPORTER_OTLP_ENDPOINT names', async () => {
    const receiver = await startReceiver();
    servers.push(receiver.server);
    const cwd = mkdtempSync(join(tmpdir(), 'maestro-otlp-'));
    const result = await runCli(MAESTRO_RUN, [join(REPO_ROOT, 'plans', 'hello.json'), '--json'], {
      cwd,
      env: otelEnv(receiver.url),
    });
    expect(result.code, result.stderr).toBe(0);
    const run = jsonLines(result.stdout).find((line) => line.type === 'result')!.run as { traceparent: string };
    const traceId = run.traceparent.split('-')[1];
    const names = receiver.spans.map((span) => span.name);
    expect(names).toEqual(expect.arrayContaining(['maestro.run hello', 'maestro.step greet', 'maestro.attempt greet']));
    expect(new Set(receiver.spans.map((span) => span.traceId))).toEqual(new Set([traceId]));
    expect([...receiver.services]).toEqual(['maestro-conductor']);
    const attempt = receiver.spans.find((span) => span.name === 'maestro.attempt greet')!;
    expect(attempt.attributes).toEqual(expect.arrayContaining([{ key: 'maestro.attempt', value: { intValue: 1 } }]));
  });

  it('a run resumed after its runner was killed continues the trace it started', async () => {
    const receiver = await startReceiver();
    servers.push(receiver.server);
    const cwd = mkdtempSync(join(tmpdir(), 'maestro-otlp-resume-'));
    writeFileSync(
      join(cwd, 'slow.json'),
      JSON.stringify({
        name: 'slow',
        steps: [
          { id: 'first', uses: 'noop' },
          { id: 'wait', uses: 'sleep', needs: ['first'], with: { ms: 3_000 } },
          { id: 'last', uses: 'noop', needs: ['wait'] },
        ],
      }),
    );
    const env = { ...otelEnv(receiver.url), MAESTRO_LEASE_MS: '1000' };
    const first = startCli(MAESTRO_RUN, ['slow.json', '--json'], { cwd, env });
    let stdout = '';
    first.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    // Killed once the first step's span has been exported and the second step runs.
    for (let i = 0; i < 300 && !receiver.spans.some((span) => span.name === 'maestro.step first'); i += 1)
      await sleep(20);
    first.kill('SIGKILL');
    await first.output;
    const runId = (jsonLines(stdout)[0]!.event as { run_id: string }).run_id;
    const before = receiver.spans.length;
    expect(before).toBeGreaterThan(0);

    const resumed = await runCli(MAESTRO_RUN, ['--resume', runId, '--json'], { cwd, env, timeoutMs: 60_000 });
    expect(resumed.code, resumed.stderr).toBe(0);
    const run = jsonLines(resumed.stdout).find((line) => line.type === 'result')!.run as { traceparent: string };
    const [, traceId, firstRunSpan] = run.traceparent.split('-');
    expect(receiver.spans.length).toBeGreaterThan(before);
    expect(new Set(receiver.spans.map((span) => span.traceId))).toEqual(new Set([traceId]));
    // The resuming runner's run span hangs under the one the killed runner stored.
    const resumedRun = receiver.spans.find(
      (span) => span.name === 'maestro.run slow' && span.parentSpanId === firstRunSpan,
    );
    expect(resumedRun?.attributes).toEqual(
      expect.arrayContaining([{ key: 'maestro.resumed', value: { boolValue: true } }]),
    );
    expect(receiver.spans.some((span) => span.name === 'maestro.step last')).toBe(true);
  });
});
