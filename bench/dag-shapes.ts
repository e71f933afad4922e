import type { Plan, PlanStep } from '../src/generated/schemas.js';

export const SHAPES = ['chain', 'fan', 'lattice', 'nested'] as const;
export type Shape = (typeof SHAPES)[number];

export type StepMaker = (id: string, needs?: string[]) => PlanStep;

const noopStep: StepMaker = (id, needs = []) => ({ id, uses: 'noop', ...(needs.length ? { needs } : {}) });

/** A plan of about `steps` step documents in one of four shapes, each leaf made by `noop` (no-op steps by default). */
export function dagPlan(shape: Shape, steps: number, noop: StepMaker = noopStep): Plan {
  const name = `bench-${shape}-${steps}`;
  switch (shape) {
    case 'chain':
      return { name, steps: Array.from({ length: steps }, (_, i) => noop(`s${i}`, i ? [`s${i - 1}`] : [])) };
    case 'fan': {
      const middle = Array.from({ length: steps - 2 }, (_, i) => noop(`m${i}`, ['root']));
      return {
        name,
        steps: [
          noop('root'),
          ...middle,
          noop(
            'join',
            middle.map((s) => s.id),
          ),
        ],
      };
    }
    case 'lattice': {
      // Layers of width w; each node needs two nodes of the layer before: a lattice of diamonds.
      const width = Math.max(2, Math.round(Math.sqrt(steps)));
      const layers = Math.ceil(steps / width);
      const all: PlanStep[] = [];
      for (let layer = 0; layer < layers; layer += 1) {
        for (let j = 0; j < width && all.length < steps; j += 1) {
          all.push(
            noop(`n${layer}_${j}`, layer === 0 ? [] : [`n${layer - 1}_${j}`, `n${layer - 1}_${(j + 1) % width}`]),
          );
        }
      }
      return { name, steps: all };
    }
    case 'nested': {
      // Groups of ten documents (the group and nine chained children), groups in parallel, then a join.
      const groups = Math.max(1, Math.floor((steps - 1) / 10));
      const groupSteps: PlanStep[] = Array.from({ length: groups }, (_, g) => ({
        id: `g${g}`,
        steps: Array.from({ length: 9 }, (_, c) => noop(`g${g}c${c}`, c ? [`g${g}c${c - 1}`] : [])),
      }));
      return {
        name,
        steps: [
          ...groupSteps,
          noop(
            'join',
            groupSteps.map((s) => s.id),
          ),
        ],
      };
    }
  }
}
