import { appendFileSync } from 'node:fs';
import { inject } from 'vitest';

export interface Figures {
  fault: string;
  runs?: number;
  kills?: number;
  steps?: number;
  duplicates?: number;
  lost?: number;
  errors?: number;
  [other: string]: string | number | undefined;
}

/** Records one row of the fault suite's figure table (printed when the suite ends). */
export function recordFigures(figures: Figures): void {
  appendFileSync(inject('faultFiguresFile'), `${JSON.stringify(figures)}\n`);
  console.log(`figures: ${JSON.stringify(figures)}`);
}

/** Runs tasks with at most `limit` at a time. */
export async function inPool<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const index = next++;
        results[index] = await task(items[index]!, index);
      }
    }),
  );
  return results;
}
