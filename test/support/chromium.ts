import { existsSync } from 'node:fs';

/** Debian's chromium (no browser download works here; playwright-core drives the system one). */
export const CHROMIUM =
  process.env.CHROMIUM_PATH ?? ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find(existsSync);

/** In CI a missing browser fails the suite; elsewhere the suite is reported skipped (`describe.skipIf`). */
export const browserMissing = !CHROMIUM && !process.env.CI;

/** Headless, and none of the background connections a closed network refuses. */
export const CHROMIUM_FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
