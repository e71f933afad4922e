import type { Plan } from '../generated/schemas.js';
import { MaestroError } from '../domain/errors.js';
import { pathsOf, type ExpressionNode } from './expressions.js';

/** What `steps.<id>` gives: the members a step exposes to expressions. */
export const STEP_MEMBERS = ['outputs', 'status'] as const;
/** What `run` gives: the driver builds the expression context's `run` from this list. */
export const RUN_MEMBERS = ['run_id', 'plan_id', 'plan_name', 'owner', 'labels', 'started_at'] as const;

/** Where an expression sits, and so what it may read. */
export interface ReferenceScope {
  /** Who reads, for messages: `step "c"` or `the plan's outputs`. */
  reader: string;
  /** Whether the reader can see a step: upstream of it (transitive needs), or upstream of an enclosing group. */
  canSee(stepId: string): boolean;
  /** Every step id the reader can see, for the message when it reads another. */
  visibleSteps(): string[];
  /** Whether `item` and `index` are defined (inside a foreach copy). */
  inForeach: boolean;
  /** Whether secrets (and write-only inputs) may be read here: in a step's `with`, never where a value is stored. */
  allowsSecrets: boolean;
}

/** What a plan declares that its expressions may read by name. */
export interface DeclaredNames {
  /** The input names a closed `inputs` schema allows, or undefined when any name may be given. */
  inputs: ReadonlySet<string> | undefined;
  /** Inputs marked `writeOnly: true` or `format: "password"`: secrets that arrive as inputs. */
  writeOnlyInputs: ReadonlySet<string>;
  /** The plan's `secrets`. */
  secrets: ReadonlySet<string>;
}

/** The names a plan declares: closed inputs, write-only inputs, secrets. */
export function declaredNames(plan: Plan): DeclaredNames {
  const schema = plan.inputs as
    | {
        properties?: Record<string, { writeOnly?: unknown; format?: unknown } | boolean>;
        additionalProperties?: unknown;
      }
    | undefined;
  const properties = Object.entries(schema?.properties ?? {});
  return {
    inputs: schema && schema.additionalProperties === false ? new Set(properties.map(([name]) => name)) : undefined,
    writeOnlyInputs: new Set(
      properties
        .filter(([, p]) => typeof p === 'object' && (p.writeOnly === true || p.format === 'password'))
        .map(([name]) => name),
    ),
    secrets: new Set(plan.secrets ?? []),
  };
}

/** Where secrets may not go, said once for every message. */
const SECRET_PLACES = "a step's with (or with.env), except a plan step's (a child plan declares its own secrets)";

function staticSegment(segment: string | ExpressionNode | undefined): string | undefined {
  if (typeof segment === 'string') return segment;
  return segment?.kind === 'literal' && typeof segment.value === 'string' ? segment.value : undefined;
}

/** The names an expression reads statically under one root: `secrets.X` -> X, `inputs.y` -> y. */
export function namesReadUnder(node: ExpressionNode, root: 'secrets' | 'inputs'): string[] {
  return pathsOf(node)
    .filter((path) => path.root === root)
    .map((path) => staticSegment(path.segments[0]))
    .filter((name): name is string => name !== undefined);
}

function refused(where: string, message: string, expected: string): MaestroError {
  return new MaestroError('PLAN_INVALID', `${where}: ${message}`, { details: { path: where, expected } });
}

/**
 * Checks what an expression reads against where it sits, so a typo or a race is refused before anything runs:
 * `steps.<id>` must be upstream of the reader and followed by a member that exists; `inputs.<name>` must be
 * declared when the inputs schema is closed; `run.<field>` must exist; `item` / `index` only inside foreach.
 */
export function checkReferences(
  node: ExpressionNode,
  where: string,
  scope: ReferenceScope,
  names: DeclaredNames,
): void {
  for (const path of pathsOf(node)) {
    const first = staticSegment(path.segments[0]);
    switch (path.root) {
      case 'steps': {
        const visible = (): string => scope.visibleSteps().join(', ') || '(none: add the step to needs)';
        if (first === undefined)
          throw refused(where, 'steps must be followed by a step id', `steps.<id> with one of ${visible()}`);
        if (!scope.canSee(first)) {
          throw refused(
            where,
            `${scope.reader} reads steps.${first}, which is not upstream of it (list it in needs, directly or through an enclosing group)`,
            `one of ${visible()}`,
          );
        }
        const member = path.segments[1];
        if (member !== undefined && !(STEP_MEMBERS as readonly string[]).includes(staticSegment(member) ?? '')) {
          throw refused(
            where,
            `steps.${first} has no member "${staticSegment(member) ?? '[…]'}"`,
            `steps.${first}.${STEP_MEMBERS.join(` or steps.${first}.`)}`,
          );
        }
        break;
      }
      case 'inputs':
        if (first === undefined) {
          if (names.writeOnlyInputs.size > 0 && !scope.allowsSecrets)
            throw refused(
              where,
              'inputs may not be read whole where the plan has write-only inputs',
              `inputs.<name>, or the write-only ones only in ${SECRET_PLACES}`,
            );
          break;
        }
        if (names.inputs && !names.inputs.has(first)) {
          throw refused(
            where,
            `inputs.${first} is not declared by the plan's inputs schema (it allows no other properties)`,
            `one of ${[...names.inputs].join(', ') || '(no inputs)'}`,
          );
        }
        if (names.writeOnlyInputs.has(first) && !scope.allowsSecrets)
          throw refused(where, `inputs.${first} is write-only (a secret) and may not be read here`, SECRET_PLACES);
        break;
      case 'secrets':
        if (!scope.allowsSecrets)
          throw refused(where, `secrets may not be read here: a value here could be stored or shown`, SECRET_PLACES);
        if (first === undefined || !names.secrets.has(first)) {
          throw refused(
            where,
            `secrets.${first ?? '[…]'} is not declared in the plan's secrets`,
            `one of ${[...names.secrets].join(', ') || '(none: list the name in secrets)'}`,
          );
        }
        break;
      case 'run':
        if (first !== undefined && !(RUN_MEMBERS as readonly string[]).includes(first)) {
          throw refused(where, `run has no field "${first}"`, `one of ${RUN_MEMBERS.join(', ')}`);
        }
        break;
      case 'item':
      case 'index':
        if (!scope.inForeach)
          throw refused(
            where,
            `${path.root} is only defined inside a foreach step`,
            'a step that has foreach, or one nested in it',
          );
        break;
      default:
        break;
    }
  }
}
