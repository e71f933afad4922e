import type { Plan } from '../generated/schemas.js';
import { MaestroError, type ErrorDetails } from '../domain/errors.js';
import { findSchemaFaultsForReport } from '../schema/validators.js';
import { inDocumentOrder } from './document-order.js';
import { parsePlanJson, readPlanText } from './load-plan.js';

/** How many faults of one file `maestro validate` lists. */
export const MAX_REPORTED_FAULTS = 20;

export interface PlanFault {
  path: string;
  expected?: string;
  message: string;
  cycle?: string[];
}

/** The faults of a file: at most MAX_REPORTED_FAULTS listed, `cut` the number left out. */
export interface PlanFaults {
  valid: false;
  faults: PlanFault[];
  total: number;
  cut: number;
}

export type PlanFaultReport<C> = { valid: true; plan: Plan; compiled: C } | PlanFaults;

function faultOf(error: MaestroError): PlanFault {
  const { path, expected, cycle } = error.details;
  return {
    path: typeof path === 'string' ? path : '$',
    ...(typeof expected === 'string' ? { expected } : {}),
    message: error.message,
    ...(Array.isArray(cycle) ? { cycle: cycle.map(String) } : {}),
  };
}

function failed(faults: PlanFault[]): PlanFaults {
  const listed = faults.slice(0, MAX_REPORTED_FAULTS);
  return { valid: false, faults: listed, total: faults.length, cut: faults.length - listed.length };
}

/**
 * Every fault of a plan file, in the order of the file, for `maestro validate`: all schema faults; on a plan the
 * schema accepts, every fault the compiler gathers (ids, needs, cycles, kinds, `with`, expressions). Reading, size and depth are checked first, as
 * for every plan, so a document the guards refuse never reaches the reporting validator.
 */
export function reportPlanFaults<C>(file: string, compile: (plan: Plan) => C): PlanFaultReport<C> {
  let document: unknown;
  try {
    document = parsePlanJson(readPlanText(file), file);
  } catch (error) {
    if (error instanceof MaestroError && error.code === 'PLAN_INVALID') return failed([faultOf(error)]);
    throw error;
  }
  const schemaFaults = findSchemaFaultsForReport('plan.schema.json', document);
  if (schemaFaults.length > 0) {
    const faults = schemaFaults.map((fault) => ({
      path: fault.path,
      expected: fault.expected,
      message: `${file}: plan is invalid at ${fault.path}: expected ${fault.expected}`,
    }));
    return failed(inDocumentOrder(faults, document));
  }
  const plan = document as Plan;
  try {
    return { valid: true, plan, compiled: compile(plan) };
  } catch (error) {
    if (!(error instanceof MaestroError) || error.code !== 'PLAN_INVALID') throw error;
    // The compiler gathers its faults in details.faults; each gets the file, as other commands' messages have.
    const gathered = Array.isArray(error.details.faults) ? (error.details.faults as ErrorDetails[]) : [error.details];
    const faults = gathered.map((details) =>
      faultOf(
        new MaestroError(
          'PLAN_INVALID',
          `${file}: ${typeof details.message === 'string' ? details.message : error.message}`,
          {
            details,
          },
        ),
      ),
    );
    return failed(inDocumentOrder(faults, document));
  }
}
