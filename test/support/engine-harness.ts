import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EventDocument, Plan, RunDocument, StepDocument } from '../../src/generated/schemas.js';
import type { EngineOptions } from '../../src/engine/engine.js';
import { Engine } from '../../src/maestro-engine.js';
import type { RunStore } from '../../src/store/port.js';
import { beforeEach, expect } from 'vitest';
import { findSchemaFault } from '../../src/schema/validators.js';
import { skipUnavailable, type TestBackend } from './backends.js';

export interface Harness {
  engine: Engine;
  store: RunStore;
  workspace: string;
  /** Writes a plan file into the workspace and returns its path. */
  writePlan: (plan: Plan, fileName?: string) => string;
  /** Applies, starts and executes a plan; returns the final run with its steps by key and its events. */
  runPlan: (plan: Plan, inputs?: Record<string, unknown>) => Promise<RunResult>;
  result: (runId: string) => Promise<RunResult>;
}

export interface RunResult {
  run: RunDocument;
  steps: Record<string, StepDocument>;
  events: EventDocument[];
}

export function createHarness(store: RunStore, options: Partial<EngineOptions> = {}): Harness {
  const workspace = mkdtempSync(join(tmpdir(), 'maestro-ws-'));
  const engine = new Engine({ store, workspace, pollMs: 20, leaseMs: 5_000, ...options });
  // Every event an engine test causes is checked against the schema of its type's data.
  const eventDataFaults: string[] = [];
  engine.events.on('event', (event) => {
    const fault = eventDataFault(event);
    if (fault) eventDataFaults.push(fault);
  });
  const harness: Harness = {
    engine,
    store,
    workspace,
    writePlan(plan, fileName = `${plan.name}.json`) {
      const path = join(workspace, fileName);
      writeFileSync(path, JSON.stringify(plan, null, 2));
      return path;
    },
    async runPlan(plan, inputs = {}) {
      const planDoc = await engine.applyPlanFile(harness.writePlan(plan));
      const { run } = await engine.startRun(planDoc, { inputs });
      await engine.executeRun(run.run_id);
      return harness.result(run.run_id);
    },
    async result(runId) {
      const detail = await engine.getRunDetail(runId);
      const events = await store.listEvents(runId, 0, 100_000);
      expect(eventDataFaults).toEqual([]);
      return { run: detail.run, steps: Object.fromEntries(detail.steps.map((s) => [s.key, s])), events };
    },
  };
  return harness;
}

/** A harness on a fresh store of the backend, and the function that closes both (for a beforeEach teardown). */
export async function openHarness(backend: TestBackend): Promise<{ harness: Harness; close: () => Promise<void> }> {
  const { store, cleanup } = await backend.create();
  const harness = createHarness(store);
  return {
    harness,
    async close() {
      harness.engine.close();
      await cleanup();
    },
  };
}

/**
 * A fresh harness on the backend for every test of a `describe.each(testBackends())` body (tests of a missing
 * backend are reported skipped). The returned object always stands for the current test's harness.
 */
export function harnessForEachTest(backend: TestBackend): Harness {
  skipUnavailable(backend);
  let current: Harness | undefined;
  beforeEach(async () => {
    const opened = await openHarness(backend);
    current = opened.harness;
    return opened.close;
  });
  return new Proxy({} as Harness, { get: (_, property) => current![property as keyof Harness] });
}

/** Why an event's `data` does not match schemas/event-data.schema.json for its type, if it does not. */
export function eventDataFault(event: Pick<EventDocument, 'type' | 'data' | 'seq'>): string | undefined {
  const fault = findSchemaFault(`event-data.schema.json#/properties/${event.type}`, event.data);
  return fault && `event ${event.seq} ${event.type}: ${fault.message}`;
}
