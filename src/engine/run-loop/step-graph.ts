import type { StepDocument } from '../../generated/schemas.js';
import { isTerminalStepStatus } from '../../domain/status.js';
import type { CompiledPlan, CompiledStep } from '../../plan/compile-plan.js';
import { parentKeyOf, planStepIdOf } from './step-tree.js';

/**
 * The driver's mirror of a run's steps, with the edges between them (needs, nesting) and counters of what each
 * step still waits for. Counters keep scheduling linear in the number of steps: a join of 10,000 needs is not
 * rescanned 10,000 times.
 */
export class StepGraph {
  private readonly steps = new Map<string, StepDocument>();
  private readonly keyById = new Map<string, string>();
  private readonly dependants = new Map<string, string[]>();
  private readonly childKeys = new Map<string, string[]>();
  private readonly unfinishedNeeds = new Map<string, number>();
  private readonly unfinishedChildren = new Map<string, number>();
  private readonly finished = new Set<string>();
  private unfinishedTopLevel = 0;

  constructor(private readonly compiled: CompiledPlan) {}

  /** Adds steps not seen yet (and refreshes those that were), counting what each new one waits for. */
  load(docs: readonly StepDocument[]): void {
    const added: StepDocument[] = [];
    for (const doc of docs) {
      const known = this.steps.has(doc.key);
      this.put(doc);
      if (known) continue;
      added.push(doc);
      for (const need of doc.needs) appendTo(this.dependants, need, doc.key);
      appendTo(this.childKeys, this.parentKeyOf(doc), doc.key);
    }
    // Counted once all new documents are in, so needs and children loaded together see each other.
    for (const doc of added) {
      if (isTerminalStepStatus(doc.status)) {
        this.finished.add(doc.key);
        continue;
      }
      this.unfinishedNeeds.set(doc.key, doc.needs.filter((need) => !this.finished.has(need)).length);
      const parentKey = this.parentKeyOf(doc);
      if (parentKey === '') this.unfinishedTopLevel += 1;
      else this.unfinishedChildren.set(parentKey, (this.unfinishedChildren.get(parentKey) ?? 0) + 1);
    }
  }

  get(key: string): StepDocument | undefined {
    return this.steps.get(key);
  }

  put(doc: StepDocument): void {
    this.steps.set(doc.key, doc);
    this.keyById.set(doc.step_id, doc.key);
  }

  keys(): IterableIterator<string> {
    return this.steps.keys();
  }

  values(): IterableIterator<StepDocument> {
    return this.steps.values();
  }

  compiledOf(doc: StepDocument): CompiledStep {
    return this.compiled.steps.get(planStepIdOf(doc.key))!;
  }

  parentOf(doc: StepDocument): StepDocument | undefined {
    if (doc.parent_step_id === undefined) return undefined;
    const key = this.keyById.get(doc.parent_step_id);
    return key === undefined ? undefined : this.steps.get(key);
  }

  /** The nested steps of a group or fanout ('' for the top level). */
  childrenOf(key: string): StepDocument[] {
    return (this.childKeys.get(key) ?? []).map((childKey) => this.steps.get(childKey)!);
  }

  childKeysOf(key: string): readonly string[] {
    return this.childKeys.get(key) ?? [];
  }

  waitsOnNeeds(key: string): boolean {
    return (this.unfinishedNeeds.get(key) ?? 0) > 0;
  }

  waitsOnChildren(key: string): boolean {
    return (this.unfinishedChildren.get(key) ?? 0) > 0;
  }

  get topLevelDone(): boolean {
    return this.unfinishedTopLevel <= 0;
  }

  /**
   * Counts a step as finished and returns the keys it wakes: dependants with no unfinished need left, and its
   * parent once all its children are done. A step finishes once; later calls wake nothing.
   */
  markFinished(doc: StepDocument): string[] {
    if (this.finished.has(doc.key)) return [];
    this.finished.add(doc.key);
    const woken: string[] = [];
    for (const key of this.dependants.get(doc.key) ?? []) {
      const left = (this.unfinishedNeeds.get(key) ?? 1) - 1;
      this.unfinishedNeeds.set(key, left);
      if (left <= 0) woken.push(key);
    }
    const parentKey = this.parentKeyOf(doc);
    if (parentKey === '') {
      this.unfinishedTopLevel -= 1;
    } else {
      const left = (this.unfinishedChildren.get(parentKey) ?? 1) - 1;
      this.unfinishedChildren.set(parentKey, left);
      if (left <= 0) woken.push(parentKey);
    }
    return woken;
  }

  /** Step `id` as seen from `doc`: a sibling first, then the siblings of each enclosing group. */
  lookupVisible(id: string, doc: StepDocument): StepDocument | undefined {
    for (let scope = parentKeyOf(doc.key); scope !== undefined; scope = parentKeyOf(scope)) {
      const found = this.steps.get(`${scope}.${id}`);
      if (found) return found;
    }
    return this.steps.get(id);
  }

  /** A foreach copy (`each[2]`) belongs to its fanout step (`each`); anything else to the enclosing key ('' at the top). */
  private parentKeyOf(doc: StepDocument): string {
    return doc.index !== undefined ? doc.key.replace(/\[\d+\]$/, '') : (parentKeyOf(doc.key) ?? '');
  }
}

function appendTo(lists: Map<string, string[]>, key: string, value: string): void {
  const list = lists.get(key);
  if (list) list.push(value);
  else lists.set(key, [value]);
}
