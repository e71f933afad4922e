import type { StepContext } from './step-context.js';

/** A function registered in code and called by `uses: handler` steps; its return value becomes the step's outputs. */
export type StepHandler = (
  context: StepContext,
) => Promise<Record<string, unknown> | void> | Record<string, unknown> | void;

export class HandlerRegistry {
  private readonly handlers = new Map<string, StepHandler>();

  register(name: string, handler: StepHandler): this {
    this.handlers.set(name, handler);
    return this;
  }

  get(name: string): StepHandler | undefined {
    return this.handlers.get(name);
  }

  names(): string[] {
    return [...this.handlers.keys()].sort();
  }
}
