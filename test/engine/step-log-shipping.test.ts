import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MaestroError } from '../../src/domain/errors.js';
import { newId } from '../../src/domain/ids.js';
import { LogShipper } from '../../src/engine/logs/log-shipper.js';
import { StepLog } from '../../src/engine/logs/step-log.js';
import { openStore } from '../../src/store/open.js';
import type { BlobStore, LogAddress, LogChunk, RunStore } from '../../src/store/port.js';
import { createHarness } from '../support/engine-harness.js';

async function storedText(blobs: Pick<BlobStore, 'listLogChunks'>, address: LogAddress): Promise<string> {
  const chunks = await blobs.listLogChunks(address, -1, 1000);
  expect(chunks.map((c) => c.seq)).toEqual(chunks.map((_, i) => i));
  return Buffer.concat(chunks.map((c) => c.data)).toString();
}

/** The store's log chunks, with an outage switched on and off by the test. */
function flakyBlobs(store: RunStore) {
  const state = { down: false, refused: 0 };
  const blobs: Pick<BlobStore, 'appendLogChunk' | 'listLogChunks'> = {
    async appendLogChunk(chunk: LogChunk) {
      if (state.down) {
        state.refused += 1;
        throw new Error('store unreachable');
      }
      return store.blobs.appendLogChunk(chunk);
    },
    listLogChunks: (address, afterSeq, limit) => store.blobs.listLogChunks(address, afterSeq, limit),
  };
  return { blobs, state };
}

describe('StepLog shipping to the store', () => {
  let store: RunStore;
  let dir: string;
  let address: LogAddress;

  beforeEach(async () => {
    store = await openStore('memory://');
    dir = mkdtempSync(join(tmpdir(), 'maestro-steplog-'));
    address = { run_id: newId(), key: 'build', attempt: 1 };
  });
  afterEach(() => store.close());

  it('stores what is written within about 250 ms, in order, and the tail on close, as the file has it', async () => {
    const path = join(dir, 'build.1.log');
    const log = new StepLog(path, { shipper: new LogShipper({ blobs: store.blobs, address }) });
    log.write('first line\n');
    log.write(Buffer.from('second '));
    expect(await storedText(store.blobs, address)).toBe('');
    await sleep(600);
    expect(await storedText(store.blobs, address)).toBe('first line\nsecond ');
    log.info('the tail');
    await log.close();
    expect(await storedText(store.blobs, address)).toBe('first line\nsecond [info] the tail\n');
    expect(readFileSync(path, 'utf8')).toBe('first line\nsecond [info] the tail\n');
  });

  it('sends a full chunk at once, and a log larger than a chunk as several', async () => {
    const log = new StepLog(join(dir, 'big.log'), {
      shipper: new LogShipper({ blobs: store.blobs, address, chunkBytes: 1024, flushMs: 60_000 }),
    });
    log.write('x'.repeat(2500));
    await sleep(200);
    expect((await store.blobs.listLogChunks(address, -1, 10)).map((c) => c.data.length)).toEqual([1024, 1024]);
    await log.close();
    expect((await store.blobs.listLogChunks(address, -1, 10)).map((c) => c.data.length)).toEqual([1024, 1024, 452]);
  });

  it('rides out a store outage: bytes wait and arrive in order, the attempt never sees an error', async () => {
    const { blobs, state } = flakyBlobs(store);
    const log = new StepLog(join(dir, 'flaky.log'), {
      shipper: new LogShipper({ blobs, address, flushMs: 20 }),
    });
    state.down = true;
    for (let i = 0; i < 5; i += 1) {
      log.write(`line ${i}\n`);
      await sleep(60);
    }
    expect(state.refused).toBeGreaterThan(0);
    state.down = false;
    log.write('after\n');
    await log.close();
    expect(await storedText(store.blobs, address)).toBe('line 0\nline 1\nline 2\nline 3\nline 4\nafter\n');
  });

  it('holds a bounded amount during an outage, says what is missing, and gives up on close within its bound', async () => {
    const { blobs, state } = flakyBlobs(store);
    const path = join(dir, 'bounded.log');
    const log = new StepLog(path, {
      shipper: new LogShipper({ blobs, address, flushMs: 10, maxHeldBytes: 100, closeWithinMs: 400 }),
    });
    state.down = true;
    log.write('a'.repeat(80) + '\n');
    log.write('b'.repeat(80) + '\n');
    await sleep(50);
    state.down = false;
    await sleep(400);
    log.write('c\n');
    await log.close();
    const stored = await storedText(store.blobs, address);
    expect(stored).toBe(
      `${'a'.repeat(80)}\n\n[maestro] 81 bytes of this log are missing here: the store did not take them in time (the runner's log file has them)\nc\n`,
    );
    expect(readFileSync(path, 'utf8')).toContain('b'.repeat(80));

    const never = { ...address, attempt: 2 };
    state.down = true;
    const stuck: StepLog = new StepLog(join(dir, 'stuck.log'), {
      shipper: new LogShipper({
        blobs,
        address: never,
        flushMs: 10,
        closeWithinMs: 300,
        warn: (message) => stuck.noteInFile(message),
      }),
    });
    stuck.write('lost to the store\n');
    const started = Date.now();
    await stuck.close();
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(readFileSync(join(dir, 'stuck.log'), 'utf8')).toContain('were not stored');
  });

  it('stops shipping at once when the store refuses the log for good, and keeps writing the file', async () => {
    let calls = 0;
    const refusing: Pick<BlobStore, 'appendLogChunk' | 'listLogChunks'> = {
      appendLogChunk: () => {
        calls += 1;
        return Promise.reject(new MaestroError('DOCUMENT_INVALID', 'log chunk document is invalid'));
      },
      listLogChunks: (at, afterSeq, limit) => store.blobs.listLogChunks(at, afterSeq, limit),
    };
    const path = join(dir, 'refused.log');
    const log: StepLog = new StepLog(path, {
      shipper: new LogShipper({ blobs: refusing, address, flushMs: 10, warn: (message) => log.noteInFile(message) }),
    });
    log.write('first\n');
    await sleep(100);
    log.write('second\n');
    const started = Date.now();
    await log.close();
    expect(Date.now() - started).toBeLessThan(500);
    expect(calls).toBe(1);
    const text = readFileSync(path, 'utf8');
    expect(text).toContain('first\n');
    expect(text).toContain('second\n');
    expect(text).toContain('the store refused the log of step build (attempt 1)');
  });

  it('goes on after the chunks a runner that lost the attempt stored', async () => {
    await store.blobs.appendLogChunk({
      ...address,
      seq: 0,
      data: Buffer.from('old runner\n'),
      at: new Date().toISOString(),
    });
    const log = new StepLog(join(dir, 'taken.log'), { shipper: new LogShipper({ blobs: store.blobs, address }) });
    log.write('new runner\n');
    await log.close();
    expect(await storedText(store.blobs, address)).toBe('old runner\nnew runner\n');
  });

  it('cuts the log at its limit, says so once, and keeps nothing after', async () => {
    const limits: MaestroError[] = [];
    const path = join(dir, 'limited.log');
    const log = new StepLog(path, {
      shipper: new LogShipper({ blobs: store.blobs, address }),
      maxBytes: 100,
      onLimit: (error) => limits.push(error),
    });
    log.write('y'.repeat(60));
    log.write('z'.repeat(60));
    log.write('after the limit');
    await log.close();
    expect(limits.map((e) => [e.code, e.retryable])).toEqual([['LOG_TOO_LARGE', false]]);
    const text = await storedText(store.blobs, address);
    expect(text).toBe(`${'y'.repeat(60)}${'z'.repeat(40)}\n[error] ${limits[0]!.message}\n`);
    expect(readFileSync(path, 'utf8')).toBe(text);
  });
});

describe('the engine ships step logs and enforces the log limit', () => {
  it('an exec step logging past maxLogBytes fails LOG_TOO_LARGE; its log is in the store', async () => {
    const store = await openStore('memory://');
    const h = createHarness(store, { maxLogBytes: 4096 });
    try {
      const { run, steps } = await h.runPlan({
        name: 'chatty',
        steps: [
          { id: 'quiet', uses: 'exec', with: { command: ['node', '-e', "console.log('short and sweet')"] } },
          {
            id: 'loud',
            uses: 'exec',
            needs: ['quiet'],
            with: { command: ['node', '-e', "for (;;) process.stdout.write('x'.repeat(1000) + '\\n')"] },
          },
        ],
      });
      expect(run.status).toBe('failed');
      expect(steps.quiet!.status).toBe('succeeded');
      expect(steps.loud!.error_info?.code).toBe('log_too_large');
      const quiet = await storedText(store.blobs, { run_id: run.run_id, key: 'quiet', attempt: 1 });
      expect(quiet).toContain('short and sweet');
      const loud = await storedText(store.blobs, { run_id: run.run_id, key: 'loud', attempt: 1 });
      expect(Buffer.byteLength(loud)).toBeLessThan(4096 + 200);
      expect(loud).toContain('passed its limit of 4096 bytes');
    } finally {
      h.engine.close();
      await store.close();
    }
  }, 20_000);
});
