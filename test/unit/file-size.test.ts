import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sourceFiles } from '../support/source-files.js';
import { REPO_ROOT } from '../support/spawn-cli.js';

const SRC = join(REPO_ROOT, 'src');
const MAX_LINES = 400;
/** Written by scripts/gen-types.mjs from schemas/, not by hand. */
const GENERATED = /^generated\//;

const lineCount = (text: string) => text.split('\n').length - (text.endsWith('\n') ? 1 : 0);

describe('file size', () => {
  it(`no hand-written file in src/ is over ${MAX_LINES} lines`, () => {
    const tooLong = sourceFiles(SRC, /\.tsx?$/)
      .map((file) => ({ file: relative(SRC, file), lines: lineCount(readFileSync(file, 'utf8')) }))
      .filter(({ file, lines }) => !GENERATED.test(file) && lines > MAX_LINES);
    expect(tooLong).toEqual([]);
  });

  it('counts lines as wc -l does', () => {
    expect(lineCount('a\nb\n')).toBe(2);
    expect(lineCount('a\nb')).toBe(2);
  });
});
