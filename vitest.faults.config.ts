import { defineConfig } from 'vitest/config';

// `npm run test:faults`: the fault suite (kills, races, outages, bad input, load, exec safety), bounded and loopback only.
export default defineConfig({
  test: {
    include: ['test/faults/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts', 'test/faults/support/figures-setup.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 300_000,
    hookTimeout: 60_000,
    reporters: ['default', 'json'],
    outputFile: { json: '.vitest-faults-results.json' },
  },
});
