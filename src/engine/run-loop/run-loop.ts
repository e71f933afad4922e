import type { Clock } from '../../domain/clock.js';
import type { MaestroError } from '../../domain/errors.js';
import type { AttemptOutcome } from '../attempts/step-attempt.js';

/**
 * The bookkeeping of one run's loop, owned here and changed only through its verbs: which steps need a look, which
 * attempts run in this process, which are offered to or run on other runners, which are held back for a slot,
 * which are watched for outside changes, and the outcomes waiting to be recorded; and the loop's wait for any of
 * that. It knows steps by key only: no store, no documents, so it is tested on its own.
 */
export class RunLoop {
  private readonly dirty = new Set<string>();
  private readonly heldBack = new Set<string>();
  private readonly watchedKeys = new Set<string>();
  private readonly attemptsHere = new Map<string, AbortController>();
  private readonly attemptsElsewhere = new Set<string>();
  private readonly outcomes: AttemptOutcome[] = [];
  /** Attempts (step_id:attempt) whose result another runner wrote and that are queued already. */
  private readonly adopted = new Set<string>();
  private wake: (() => void) | undefined;
  private readonly wakeTimers = new Set<() => void>();

  constructor(
    private readonly clock: Clock,
    private readonly pollMs: number,
  ) {}

  // ---- looking at steps

  /** The step may move on: examine it on the next scheduling pass. */
  look(key: string): void {
    this.dirty.add(key);
  }

  /** The steps to examine now (each once); looking at them may ask for more looks. */
  takeLooks(): string[] {
    const keys = [...this.dirty];
    this.dirty.clear();
    return keys;
  }

  get hasLooks(): boolean {
    return this.dirty.size > 0;
  }

  /** Forgets the looks asked for (a stopping run starts nothing new). */
  dropLooks(): void {
    this.dirty.clear();
  }

  // ---- attempts in this process

  attemptStarted(key: string, controller: AbortController): void {
    this.attemptsHere.set(key, controller);
    this.watchedKeys.delete(key);
    this.attemptsElsewhere.delete(key);
  }

  /** An attempt (here, or another runner's result taken up) ended: its outcome waits to be recorded. */
  attemptSettled(outcome: AttemptOutcome): void {
    this.outcomes.push(outcome);
    this.notify();
  }

  /**
   * Takes up the result another runner wrote for an attempt, once (a second sighting of it changes nothing).
   * The step is no longer watched: its outcome is recorded from here on.
   */
  adoptResult(stepId: string, attempt: number, outcome: AttemptOutcome): void {
    const id = `${stepId}:${attempt}`;
    if (this.adopted.has(id)) return;
    this.adopted.add(id);
    this.watchedKeys.delete(outcome.key);
    this.attemptSettled(outcome);
  }

  /** The next outcome to record, in the order they settled; its step no longer counts as running anywhere. */
  nextOutcome(): AttemptOutcome | undefined {
    const outcome = this.outcomes.shift();
    if (outcome) {
      this.attemptsHere.delete(outcome.key);
      this.attemptsElsewhere.delete(outcome.key);
    }
    return outcome;
  }

  isRunningHere(key: string): boolean {
    return this.attemptsHere.has(key);
  }

  /** Stops every attempt running here (their outcomes still settle and are recorded). */
  abortAll(reason: MaestroError): void {
    for (const controller of this.attemptsHere.values()) controller.abort(reason);
    this.notify();
  }

  /** Nothing runs here and no outcome waits to be recorded. */
  get quiet(): boolean {
    return this.attemptsHere.size === 0 && this.outcomes.length === 0;
  }

  get runningHere(): number {
    return this.attemptsHere.size;
  }

  /** The keys of the steps with an attempt running here. */
  get keysRunningHere(): string[] {
    return [...this.attemptsHere.keys()];
  }

  // ---- attempts on other runners

  /** Offered to other runners (or running on one): watched until its result comes, counted against the plan's limit. */
  offered(key: string): void {
    this.attemptsElsewhere.add(key);
    this.watchedKeys.add(key);
  }

  /** Steps running or offered elsewhere, but for `key` (about to be counted itself). */
  elsewhereBesides(key: string): number {
    return this.attemptsElsewhere.size - (this.attemptsElsewhere.has(key) ? 1 : 0);
  }

  /** The step ended: it runs nowhere any more. */
  finished(key: string): void {
    this.attemptsElsewhere.delete(key);
    this.watchedKeys.delete(key);
  }

  // ---- held back for a slot

  holdBack(key: string): void {
    this.heldBack.add(key);
  }

  get hasHeldBack(): boolean {
    return this.heldBack.size > 0;
  }

  /** Gives as many held-back steps a look as `limit` leaves room for beside the attempts here (at least one). */
  releaseHeldBack(limit: number): void {
    let room = Math.max(1, limit - this.attemptsHere.size);
    for (const key of this.heldBack) {
      if (room <= 0) break;
      this.heldBack.delete(key);
      this.dirty.add(key);
      room -= 1;
    }
  }

  // ---- watched for outside changes

  watch(key: string): void {
    this.watchedKeys.add(key);
  }

  unwatch(key: string): void {
    this.watchedKeys.delete(key);
  }

  get watched(): readonly string[] {
    return [...this.watchedKeys];
  }

  // ---- waiting

  /** Ends the current wait of the loop now. */
  notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  /** Waits for a settled attempt, a notify or a timer, or one poll interval, unless there is work already. */
  async waitForWork(): Promise<void> {
    if (this.outcomes.length > 0 || this.dirty.size > 0) return;
    await new Promise<void>((resolve) => {
      const cancel = this.clock.setTimer(() => {
        this.wake = undefined;
        resolve();
      }, this.pollMs);
      this.wake = () => {
        cancel();
        resolve();
      };
    });
  }

  /** Looks at a step again after `delayMs` (a retry's backoff, an offer's timeout). */
  lookAfter(key: string, delayMs: number): void {
    const cancel = this.clock.setTimer(
      () => {
        this.wakeTimers.delete(cancel);
        this.dirty.add(key);
        this.notify();
      },
      Math.max(0, delayMs),
    );
    this.wakeTimers.add(cancel);
  }

  cancelTimers(): void {
    for (const cancel of this.wakeTimers) cancel();
    this.wakeTimers.clear();
  }
}
