import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MAESTRO_RUN, REPO_ROOT, runCli } from '../support/spawn-cli.js';

describe('OTEL_TRACES_EXPORTER=console', () => {
  it('writes spans to stderr, so the stdout of `maestro-run --json` stays JSON lines', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'maestro-console-spans-'));
    const result = await runCli(MAESTRO_RUN, [join(REPO_ROOT, 'plans', 'hello.json'), '--json', '--input', 'who=x'], {
      cwd,
      env: { OTEL_TRACES_EXPORTER: 'console', OTEL_BSP_SCHEDULE_DELAY: '50' },
    });
    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n').filter((line) => line.trim() !== '');
    expect(lines.length).toBeGreaterThan(2);
    for (const line of lines) expect(() => JSON.parse(line), line).not.toThrow();
    expect(JSON.parse(lines.at(-1)!)).toMatchObject({ type: 'result', run: { status: 'succeeded' } });
    // Every span of the run is on stderr, one JSON object a line, in the same trace.
    const spans = result.stderr
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { name: string; traceId: string });
    const names = spans.map((span) => span.name);
    expect(names).toContain('maestro.run hello');
    expect(names.some((name) => name.startsWith('maestro.step '))).toBe(true);
    expect(new Set(spans.map((span) => span.traceId)).size).toBe(1);
  });
});
