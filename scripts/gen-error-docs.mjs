#!/usr/bin/env node
// Prints the error catalogue table of docs/errors.md from src/domain/error-codes.ts (built into dist/).
// The docs test fails when docs/errors.md and the code drift apart.
import { ErrorCode } from '../dist/src/domain/error-codes.js';
import { exitCodeOf } from '../dist/src/cli/exit-codes.js';
import { MaestroError } from '../dist/src/domain/errors.js';

const rows = Object.entries(ErrorCode).map(
  ([code, info]) =>
    `| \`${code}\` | ${info.retryable ? 'yes' : 'no'} | ${exitCodeOf(new MaestroError(code, ''))} | ${info.summary} |`,
);
console.log(['| code | retryable | CLI exit | meaning |', '|---|---|---|---|', ...rows].join('\n'));
