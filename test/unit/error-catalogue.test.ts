import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/spawn-cli.js';

describe('error catalogue', () => {
  it('docs/errors.md lists exactly the codes of src/domain/error-codes.ts, as generated', () => {
    const generated = execFileSync(process.execPath, [join(REPO_ROOT, 'scripts', 'gen-error-docs.mjs')], {
      encoding: 'utf8',
    }).trim();
    const documented = readFileSync(join(REPO_ROOT, 'docs', 'errors.md'), 'utf8');
    expect(documented).toContain(generated);
  });
});
