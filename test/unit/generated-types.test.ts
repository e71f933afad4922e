import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

describe('generated types', () => {
  it('match schemas/ (run `npm run gen:types` after changing a schema)', () => {
    const run = () =>
      execFileSync(process.execPath, ['scripts/gen-types.mjs', '--check'], { encoding: 'utf8', stdio: 'pipe' });
    expect(run).not.toThrow();
  });
});
