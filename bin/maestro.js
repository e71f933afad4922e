#!/usr/bin/env node
// The admin CLI: plans, runs, steps, artifacts, worker, migrate, graph. The code lives in dist/ (built on install).
import { main } from '../dist/src/cli/maestro.js';
import { withTracing } from '../dist/src/cli/traced-main.js';

// A closed pipe (`| head`) is not an error worth a stack trace.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});
process.exitCode = await withTracing(() => main(process.argv.slice(2)));
