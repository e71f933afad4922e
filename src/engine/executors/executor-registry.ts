import type { StepKindCatalog } from '../../plan/compile-plan.js';
import type { StepExecutor } from './step-context.js';

/** The step kinds a runner knows. Users extend it with their own executors (workflow-as-code). */
export class ExecutorRegistry implements StepKindCatalog {
  private readonly executors = new Map<string, StepExecutor>();

  register(executor: StepExecutor): this {
    this.executors.set(executor.kind, executor);
    return this;
  }

  get(kind: string): StepExecutor | undefined {
    return this.executors.get(kind);
  }

  has(kind: string): boolean {
    return this.executors.has(kind);
  }

  withSchemaOf(kind: string): string | undefined {
    return this.executors.get(kind)?.withSchema;
  }

  kinds(): string[] {
    return [...this.executors.keys()].sort();
  }
}
