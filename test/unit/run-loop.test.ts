import { describe, expect, it } from 'vitest';
import { MaestroError } from '../../src/domain/errors.js';
import { ManualClock } from '../../src/domain/manual-clock.js';
import { RunLoop } from '../../src/engine/run-loop/run-loop.js';
import type { AttemptOutcome } from '../../src/engine/attempts/step-attempt.js';

const token = { owner: 'runner-a', fence: 1 };
const succeeded = (key: string): AttemptOutcome => ({
  kind: 'succeeded',
  key,
  token,
  outputs: {},
  cost: 0,
  logsRef: `${key}.log`,
});

function newLoop() {
  const clock = new ManualClock();
  return { clock, loop: new RunLoop(clock, 200) };
}

describe('RunLoop: the run loop bookkeeping, without a store', () => {
  it('hands out each look once, in the order asked, until asked again', () => {
    const { loop } = newLoop();
    loop.look('a');
    loop.look('b');
    loop.look('a');
    expect(loop.takeLooks()).toEqual(['a', 'b']);
    expect(loop.hasLooks).toBe(false);
    expect(loop.takeLooks()).toEqual([]);
    loop.look('c');
    loop.dropLooks();
    expect(loop.hasLooks).toBe(false);
  });

  it('counts an attempt as running here from its start until its outcome is taken for recording', () => {
    const { loop } = newLoop();
    loop.attemptStarted('a', new AbortController());
    loop.attemptStarted('b', new AbortController());
    expect(loop.runningHere).toBe(2);
    expect(loop.isRunningHere('a')).toBe(true);
    expect(loop.quiet).toBe(false);
    loop.attemptSettled(succeeded('b'));
    loop.attemptSettled(succeeded('a'));
    // Recorded in the order they settled; a settled outcome still keeps the loop busy until it is taken.
    expect(loop.nextOutcome()?.key).toBe('b');
    expect(loop.isRunningHere('b')).toBe(false);
    expect(loop.isRunningHere('a')).toBe(true);
    expect(loop.nextOutcome()?.key).toBe('a');
    expect(loop.nextOutcome()).toBeUndefined();
    expect(loop.quiet).toBe(true);
  });

  it('gives held-back steps a look as the limit leaves room beside the attempts here, oldest first, at least one', () => {
    const { loop } = newLoop();
    for (const key of ['h1', 'h2', 'h3', 'h4']) loop.holdBack(key);
    loop.attemptStarted('a', new AbortController());
    loop.attemptStarted('b', new AbortController());
    loop.releaseHeldBack(3);
    expect(loop.takeLooks()).toEqual(['h1']);
    loop.releaseHeldBack(1); // full: still one, so a step held back by another run's slots is tried again
    expect(loop.takeLooks()).toEqual(['h2']);
    loop.releaseHeldBack(10);
    expect(loop.takeLooks()).toEqual(['h3', 'h4']);
    expect(loop.hasHeldBack).toBe(false);
  });

  it('counts offered steps against the limit (but for the one being counted), watches them, and forgets them when they end', () => {
    const { loop } = newLoop();
    loop.offered('x');
    loop.offered('y');
    expect(loop.elsewhereBesides('x')).toBe(1);
    expect(loop.elsewhereBesides('z')).toBe(2);
    expect(loop.watched).toEqual(['x', 'y']);
    loop.finished('x');
    expect(loop.elsewhereBesides('z')).toBe(1);
    expect(loop.watched).toEqual(['y']);
    // Claimed back here: running here, not elsewhere, not watched.
    loop.attemptStarted('y', new AbortController());
    expect(loop.elsewhereBesides('z')).toBe(0);
    expect(loop.watched).toEqual([]);
  });

  it("queues another runner's result for an attempt once however often it is seen, and stops watching the step", () => {
    const { loop } = newLoop();
    loop.offered('x');
    loop.adoptResult('step-1', 1, succeeded('x'));
    loop.adoptResult('step-1', 1, succeeded('x'));
    expect(loop.watched).toEqual([]);
    expect(loop.nextOutcome()?.key).toBe('x');
    expect(loop.nextOutcome()).toBeUndefined();
    // The next attempt's result is a new one.
    loop.adoptResult('step-1', 2, succeeded('x'));
    expect(loop.nextOutcome()?.key).toBe('x');
    expect(loop.elsewhereBesides('z')).toBe(0);
  });

  it('aborts every attempt running here with the reason', () => {
    const { loop } = newLoop();
    const a = new AbortController();
    const b = new AbortController();
    loop.attemptStarted('a', a);
    loop.attemptStarted('b', b);
    const reason = new MaestroError('CANCELLED', 'run was cancelled');
    loop.abortAll(reason);
    expect(a.signal.reason).toBe(reason);
    expect(b.signal.reason).toBe(reason);
  });

  it('waits one poll interval, or until an attempt settles, a notify or a timed look, whichever comes first', async () => {
    const { clock, loop } = newLoop();
    let woke = false;
    const waiting = loop.waitForWork().then(() => (woke = true));
    clock.advance(199);
    await Promise.resolve();
    expect(woke).toBe(false);
    clock.advance(1);
    await waiting;
    expect(woke).toBe(true);

    const settled = loop.waitForWork();
    loop.attemptSettled(succeeded('a'));
    await settled;
    // Work is there already: no wait at all.
    await loop.waitForWork();
    loop.nextOutcome();

    loop.lookAfter('retry', 1_000);
    const timed = loop.waitForWork();
    clock.advance(200);
    await timed;
    expect(loop.hasLooks).toBe(false);
    const later = loop.waitForWork();
    clock.advance(800);
    await later;
    expect(loop.takeLooks()).toEqual(['retry']);

    loop.lookAfter('never', 1_000);
    loop.cancelTimers();
    clock.advance(5_000);
    expect(loop.hasLooks).toBe(false);
  });
});
