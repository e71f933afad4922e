import { isMaestroError, MaestroError } from '../domain/errors.js';

/**
 * The compiler's faults, gathered rather than thrown at the first, so `maestro validate` can list them all. What
 * the compiler then throws is its first fault, as before, carrying every fault in `details.faults`.
 */
export class PlanFaultCollector {
  private readonly faults: MaestroError[] = [];

  add(fault: MaestroError): void {
    this.faults.push(fault);
  }

  /** Runs one check; a PLAN_INVALID it throws is kept and compiling goes on. True when the check passed. */
  check(run: () => void): boolean {
    try {
      run();
      return true;
    } catch (error) {
      if (!isMaestroError(error, 'PLAN_INVALID')) throw error;
      this.faults.push(error);
      return false;
    }
  }

  throwIfAny(): void {
    const [first] = this.faults;
    if (!first) return;
    const faults = this.faults.map((fault) => ({ message: fault.message, ...fault.details }));
    throw new MaestroError('PLAN_INVALID', first.message, { details: { ...first.details, faults } });
  }
}
