/** How many steps one runner process executes at once, across all the runs it drives. */
export class RunnerSlots {
  private used = 0;

  constructor(readonly capacity: number) {}

  tryAcquire(): boolean {
    if (this.used >= this.capacity) return false;
    this.used += 1;
    return true;
  }

  release(): void {
    this.used = Math.max(0, this.used - 1);
  }
}
