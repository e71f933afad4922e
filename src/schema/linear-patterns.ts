import { setFlagsFromString } from 'node:v8';

let linearEngineOn = false;

/** V8's linear-time regular expression engine (the `l` flag), off unless asked for. */
function enableLinearEngine(): void {
  if (linearEngineOn) return;
  setFlagsFromString('--enable-experimental-regexp-engine');
  linearEngineOn = true;
}

/** The flag of the linear-time engine (known to V8 once it is enabled, not to linters). */
const LINEAR_FLAG = 'l';

/** Syntax that means something only in Unicode mode, which the linear-time engine does not have. */
const UNICODE_ONLY = /\\[pP]\{|\\u\{|[\u{10000}-\u{10FFFF}]/u;

/**
 * The regular expressions of user-written schemas (a plan's `inputs`: `pattern`, `patternProperties`), compiled
 * for V8's linear-time engine: a backtracking engine takes 2^n steps on `^(a|a)*$` over n characters, so a plan
 * could wedge the server with one short input. A pattern that engine cannot run (backreferences, lookarounds,
 * Unicode-mode syntax) is refused when the plan is compiled.
 */
export const linearRegExp = Object.assign(
  (pattern: string): RegExp => {
    enableLinearEngine();
    if (UNICODE_ONLY.test(pattern))
      throw new Error(
        `pattern ${JSON.stringify(pattern)} cannot be checked in linear time: \\p{…}, \\u{…} and characters past U+FFFF are not supported`,
      );
    try {
      return new RegExp(pattern, LINEAR_FLAG);
    } catch (error) {
      throw new Error(
        `pattern ${JSON.stringify(pattern)} cannot be checked in linear time (backreferences and lookarounds are not supported): ${(error as Error).message}`,
        { cause: error },
      );
    }
  },
  { code: 'linearRegExp' },
);
