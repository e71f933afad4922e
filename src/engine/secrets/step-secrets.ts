import { MaestroError } from '../../domain/errors.js';
import { defineOwn } from '../../domain/own-property.js';
import { namesReadUnder } from '../../plan/check-references.js';
import type { CompiledStep } from '../../plan/compile-plan.js';
import { forEachString, hasExpression, parseTemplate } from '../../plan/expressions.js';
import type { SecretMasker } from './secret-masker.js';
import type { SecretProvider } from './secret-provider.js';

interface SecretReads {
  secrets: string[];
  writeOnlyInputs: string[];
}

const readsCache = new WeakMap<CompiledStep, SecretReads>();

/** The secrets and write-only inputs a step's `with` reads (the only place they may be read), once per step. */
function secretReadsOf(step: CompiledStep, writeOnlyInputs: ReadonlySet<string>): SecretReads {
  let reads = readsCache.get(step);
  if (!reads) {
    const secrets = new Set<string>();
    const inputs = new Set<string>();
    forEachString(step.spec.with ?? {}, '$', (text) => {
      if (!hasExpression(text)) return;
      for (const node of parseTemplate(text)) {
        for (const name of namesReadUnder(node, 'secrets')) secrets.add(name);
        for (const name of namesReadUnder(node, 'inputs')) if (writeOnlyInputs.has(name)) inputs.add(name);
      }
    });
    reads = { secrets: [...secrets], writeOnlyInputs: [...inputs] };
    readsCache.set(step, reads);
  }
  return reads;
}

export interface StepSecretSources {
  runId: string;
  /** The write-only input names of the plan. */
  writeOnlyInputs: ReadonlySet<string>;
  /** Their values, when this process started the run. */
  held: Readonly<Record<string, unknown>> | undefined;
  provider: SecretProvider;
  /** Every value resolved here joins it, so it is masked wherever it could leave the attempt. */
  masker: SecretMasker;
}

/**
 * The secrets a step reads, from the provider, at attempt time (never stored). A missing secret or write-only
 * input fails the step, naming it and never a value; it is not retried.
 */
export async function resolveStepSecrets(
  step: CompiledStep,
  sources: StepSecretSources,
): Promise<Record<string, string>> {
  const reads = secretReadsOf(step, sources.writeOnlyInputs);
  for (const name of reads.writeOnlyInputs) {
    if (sources.held === undefined || !(name in sources.held)) {
      throw new MaestroError(
        'SECRET_MISSING',
        `step ${step.id} reads the write-only input ${name}, which only the process that started run ${sources.runId} held (it is never stored)`,
        { retryable: false, details: { input: name } },
      );
    }
  }
  const values: Record<string, string> = {};
  for (const name of reads.secrets) {
    const value = await sources.provider.resolve(name);
    if (value === undefined || value === '') {
      throw new MaestroError(
        'SECRET_MISSING',
        `secret ${name} is not set (provider: ${sources.provider.description})`,
        { retryable: false, details: { secret: name } },
      );
    }
    sources.masker.add(value);
    defineOwn(values, name, value);
  }
  return values;
}
