import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/open.js';
import { createHarness } from '../support/engine-harness.js';
import { recordFigures } from './support/figures.js';

describe('exec and http safety', () => {
  it('passes shell metacharacters as literal argv, refuses artifact paths outside the workspace and non-http(s) or private URLs', async () => {
    const store = await openStore('memory://');
    const h = createHarness(store);
    // A loopback server that redirects to the cloud metadata address: the redirect target is refused before any request.
    const server = createServer((request, response) => {
      if (request.url === '/redirect')
        response.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end();
      else response.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    try {
      const hostile = [
        '$(touch pwned)',
        '`id`',
        '; rm -rf /',
        '| cat /etc/passwd',
        '&& echo hi',
        '>${HOME}/x',
        '\'quoted\' "double"',
        '*',
        '\n newline',
      ];
      const argvSteps = hostile.map((value, i) => ({
        id: `argv${i}`,
        uses: 'exec',
        with: { command: ['node', '-e', 'console.log(JSON.stringify({ got: process.argv[1] }))', value] },
      }));
      const paths = ['../outside.txt', '../../etc/passwd', '/etc/passwd', 'a/../../b'];
      const pathSteps = paths.map((path, i) => ({
        id: `path${i}`,
        uses: 'noop',
        artifacts: [{ type: 'report' as const, path }],
        continue_on_error: true,
      }));
      const urls = [
        'file:///etc/passwd',
        'ftp://example.com/x',
        'gopher://127.0.0.1:70/',
        'http://127.0.0.1:1/',
        'http://169.254.169.254/latest/meta-data/',
        'http://10.0.0.1/',
        'http://[::1]:1/',
        'http://localhost:1/',
        `http://127.0.0.1:${port}/ok-not-allowed`,
      ];
      const urlSteps = urls.map((url, i) => ({ id: `url${i}`, uses: 'http', with: { url }, continue_on_error: true }));
      const redirect = {
        id: 'redirect',
        uses: 'http',
        with: { url: `http://127.0.0.1:${port}/redirect`, allow_hosts: ['127.0.0.1'] },
        continue_on_error: true,
      };
      const allowed = {
        id: 'allowed',
        uses: 'http',
        with: { url: `http://127.0.0.1:${port}/fine`, allow_hosts: ['127.0.0.1'] },
      };
      const { steps } = await h.runPlan({
        name: 'hostile',
        steps: [...argvSteps, ...pathSteps, ...urlSteps, redirect, allowed],
      });
      const literal = hostile.filter(
        (value, i) => (steps[`argv${i}`]?.outputs as { got?: string } | undefined)?.got === value,
      ).length;
      const refusedPaths = paths.filter((_, i) => steps[`path${i}`]?.error_info?.code === 'path_forbidden').length;
      const refusedUrls = urls.filter((_, i) => steps[`url${i}`]?.error_info?.code === 'url_forbidden').length;
      recordFigures({
        fault: 'exec/http safety',
        steps: Object.keys(steps).length,
        errors: hostile.length - literal + paths.length - refusedPaths + urls.length - refusedUrls,
        literal_argv: `${literal}/${hostile.length}`,
        refused_paths: `${refusedPaths}/${paths.length}`,
        refused_urls: `${refusedUrls}/${urls.length}`,
      });
      expect(literal).toBe(hostile.length);
      expect(refusedPaths).toBe(paths.length);
      expect(urls.map((url, i) => [url, steps[`url${i}`]?.error_info?.code])).toEqual(
        urls.map((url) => [url, 'url_forbidden']),
      );
      expect(steps.redirect?.error_info).toMatchObject({
        code: 'url_forbidden',
        message: expect.stringContaining('169.254.169.254'),
      });
      expect(steps.allowed).toMatchObject({ status: 'succeeded', outputs: { status: 200, body: { ok: true } } });
    } finally {
      server.close();
      h.engine.close();
      await store.close();
    }
  });
});
