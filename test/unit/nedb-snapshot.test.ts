import { appendFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isMaestroError } from '../../src/domain/errors.js';
import { openStore } from '../../src/store/open.js';
import { liveDocuments } from '../../src/store/nedb/nedb-snapshot.js';
import { makeRun, makeStep } from '../support/documents.js';

describe('the read-only snapshot of the embedded store', () => {
  it('reads a datafile as NeDB does: last line of an _id wins, deletions, index lines, and an unfinished last line', () => {
    const raw = [
      '{"_id":"a","v":1}',
      '{"_id":"b","v":1}',
      '{"$$indexCreated":{"fieldName":"v","unique":false}}',
      '{"_id":"a","v":2}',
      '{"$$deleted":true,"_id":"b"}',
      '{"_id":"c","v":1}',
      '{"_id":"d","v"', // a writer is in the middle of this line
    ].join('\n');
    expect(liveDocuments(raw)).toEqual([
      { _id: 'a', v: 2 },
      { _id: 'c', v: 1 },
    ]);
  });

  it('sees what the process holding the store writes after it opened, and refuses writes', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'maestro-snapshot-'));
    const writer = await openStore(`nedb://${directory}`);
    const reader = await openStore(`nedb://${directory}`, { readOnly: true });
    try {
      const first = makeRun();
      await writer.createRun(first, [makeStep(first.run_id, 'a')]);
      expect((await reader.getRun(first.run_id))?.run_id).toBe(first.run_id);
      const second = makeRun();
      await writer.createRun(second, []);
      expect((await reader.listRuns({}, { limit: 10 })).items.map((r) => r.run_id).sort()).toEqual(
        [first.run_id, second.run_id].sort(),
      );
      const write = reader.createRun(makeRun(), []);
      await expect(write).rejects.toSatisfy((error: unknown) => isMaestroError(error, 'STORE_UNAVAILABLE'));
      // A line cut short by the writer is left out, not an error.
      appendFileSync(join(directory, 'runs.db'), '{"_id":"01ZZ');
      expect(await reader.getRun(second.run_id)).toBeDefined();
    } finally {
      await reader.close();
      await writer.close();
    }
  });
});
