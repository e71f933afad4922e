import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { BSON, MongoClient } from 'mongodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Plan } from '../../../src/generated/schemas.js';
import type { SecretProvider } from '../../../src/engine/secrets/secret-provider.js';
import { openStore } from '../../../src/store/open.js';
import { dropMongoDatabase, unavailable } from '../../support/backends.js';
import { createHarness } from '../../support/engine-harness.js';
import { hostileStores, recordHostile, workspace } from './hostile-support.js';

// Each secret carries the characters that make its printed form differ from the raw value.
const SECRETS = {
  HEX: 'Hx-canary-4417',
  BASIC: 'Bs-canary-8802',
  JSON: 'Js"canary\\5521',
  ARGV: `Ar'g"v canary-6610`,
  UNI: 'Ünï-cänary-7731',
  URLP: 'Up{x} "canary=3390&k',
  HOST: 'HoSt-Canary-5120',
  PROV: 'Pv-canary-2218',
};
const secrets: SecretProvider = {
  description: 'test values',
  resolve: (name) => SECRETS[name as keyof typeof SECRETS],
};

const basic = (user: string, secret: string): string => Buffer.from(`${user}:${secret}`).toString('base64');

/** True when a base64 run of the text, read from any of its 4 character offsets, decodes to bytes holding the secret. */
function base64Reveals(text: string, secret: string): boolean {
  const needle = Buffer.from(secret);
  for (const run of text.match(/[A-Za-z0-9+/]{8,}/g) ?? []) {
    for (let offset = 0; offset < 4; offset += 1) {
      const part = run.slice(offset);
      if (Buffer.from(part.slice(0, part.length - (part.length % 4)), 'base64').includes(needle)) return true;
    }
  }
  return false;
}

// The exec step prints every form a tool commonly prints, each behind a marker proving it ran, and returns them.
const PRINT = `
const env = process.env;
const hex = Buffer.from(env.S_HEX).toString('hex');
const forms = {
  hex, HEX: hex.toUpperCase(),
  b1: Buffer.from('u:' + env.S_BASIC).toString('base64'),
  b2: Buffer.from('us:' + env.S_BASIC).toString('base64'),
  b3: Buffer.from('usr:' + env.S_BASIC).toString('base64'),
};
for (const [k, v] of Object.entries(forms)) console.log('FORM ' + k + '=' + v);
console.log('FORM json=' + JSON.stringify({ token: env.S_JSON }));
require('fs').writeFileSync(env.MAESTRO_OUTPUT, JSON.stringify(forms));
// A non-ASCII secret, one byte per write: every chunk the runner reads splits a character.
const bytes = Buffer.from(env.S_UNI);
let at = 0;
process.stdout.write('FORM uni=');
const next = () => {
  if (at === bytes.length) return process.stdout.write('\\n');
  process.stdout.write(bytes.subarray(at, at + 1));
  at += 1;
  setTimeout(next, 15);
};
next();
`;

const LAST_LINE = `
const bytes = Buffer.from(JSON.stringify({ uni: process.env.S_UNI }) + '\\n');
let at = 0;
const next = () => {
  if (at === bytes.length) return;
  process.stdout.write(bytes.subarray(at, at + 1));
  at += 1;
  setTimeout(next, 10);
};
next();
`;

function formsPlan(port: number): Plan {
  const echo = `http://127.0.0.1:${port}`;
  return {
    name: 'masking',
    secrets: Object.keys(SECRETS),
    steps: [
      {
        id: 'print',
        uses: 'exec',
        with: {
          command: ['node', '-e', PRINT, '${{ secrets.ARGV }}'],
          env: {
            S_HEX: '${{ secrets.HEX }}',
            S_BASIC: '${{ secrets.BASIC }}',
            S_JSON: '${{ secrets.JSON }}',
            S_UNI: '${{ secrets.UNI }}',
          },
        },
      },
      {
        // Outputs as a final JSON line, a byte per write: decoded chunk by chunk, the split characters break the value.
        id: 'lastline',
        uses: 'exec',
        with: {
          command: ['node', '-e', LAST_LINE],
          env: { S_UNI: '${{ secrets.UNI }}' },
        },
      },
      {
        id: 'path',
        uses: 'http',
        with: { url: `${echo}/echo/\${{ secrets.URLP }}`, allow_hosts: ['127.0.0.1'] },
      },
      {
        id: 'query',
        uses: 'http',
        with: { url: `${echo}/echo?q=\${{ secrets.URLP }}`, allow_hosts: ['127.0.0.1'] },
      },
      {
        id: 'userinfo',
        uses: 'http',
        with: { url: `http://webuser:\${{ secrets.BASIC }}@127.0.0.1:${port}/echo`, allow_hosts: ['127.0.0.1'] },
      },
      {
        id: 'provenance',
        uses: 'handler',
        with: { handler: 'record_provenance', entity: 'entity-${{ secrets.PROV }}' },
      },
      {
        id: 'host',
        uses: 'http',
        retry: { max_attempts: 1 },
        with: { url: 'http://${{ secrets.HOST }}.invalid/' },
      },
    ],
  };
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((name) => join(dir, name))
    .filter((path) => statSync(path).isFile());
}

/**
 * Everything the store holds, as text: the bytes of the SQLite store's files (its free pages too), or every document
 * of every collection.
 */
async function dumpStore(url: string, cwd: string): Promise<string> {
  if (url.startsWith('sqlite://'))
    return filesUnder(join(cwd, '.maestro'))
      .filter((f) => /maestro\.db(-wal|-shm|-journal)?$/.test(f))
      .map((f) => readFileSync(f, 'latin1'))
      .join('\n');
  const client = await MongoClient.connect(url);
  try {
    const db = client.db();
    const texts: string[] = [];
    for (const { name } of await db.listCollections().toArray())
      texts.push(BSON.EJSON.stringify(await db.collection(name).find({}).toArray()));
    return texts.join('\n');
  } finally {
    await client.close();
  }
}

const stores = hostileStores();

describe('hostile: secret forms a tool prints', () => {
  let server: Server;
  let port = 0;
  beforeAll(async () => {
    // A careless service: echoes the URL it was asked for and the Authorization header it got.
    server = createServer((request, response) => {
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ url: request.url, auth: request.headers.authorization }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  describe.each(stores)('on $name', ({ name, available, url }) => {
    it.skipIf(unavailable(available))(
      'masks hex, basic auth, JSON-escaped, WHATWG URL, host, argv echo and byte-split forms in logs, outputs, error_info, events',
      async () => {
        const cwd = workspace('masking');
        const storeUrl = url(cwd);
        const store = await openStore(storeUrl, { cwd });
        const h = createHarness(store, { secrets });
        // A handler that files a value it was given as a provenance reference of the run.
        h.engine.registerHandler('record_provenance', async (context) => {
          await context.addProvenance({ intelgraph_entity_ids: [String(context.args.entity)] });
          return {};
        });
        try {
          const { steps } = await h.runPlan(formsPlan(port));
          // The steps really printed and sent every form (otherwise nothing would be proved).
          expect(steps.print?.status).toBe('succeeded');
          expect(steps.path?.status).toBe('succeeded');
          expect(steps.userinfo?.outputs).toMatchObject({ body: { auth: expect.stringMatching(/^Basic /) } });
          expect(steps.provenance?.status).toBe('succeeded');
          expect(steps.lastline?.outputs).toHaveProperty('uni');
          expect(steps.host).toMatchObject({ status: 'failed', error_info: { message: /cannot resolve/ } });
          const logs = filesUnder(h.engine.logsDirectory)
            .map((f) => readFileSync(f, 'utf8'))
            .join('\n');
          for (const marker of ['FORM hex=', 'FORM b3=', 'FORM json=', 'FORM uni=', '$ "node"', 'GET http://'])
            expect(logs).toContain(marker);
          const stored = `${logs}\n${await dumpStore(storeUrl, cwd)}\n${JSON.stringify(steps)}`;
          expect(stored).toContain('entity-');

          const hex = Buffer.from(SECRETS.HEX).toString('hex');
          const probe = new URL('http://h/');
          probe.pathname = `/echo/${SECRETS.URLP}`;
          const pathForm = probe.pathname.slice('/echo/'.length);
          probe.search = `?q=${SECRETS.URLP}`;
          const queryForm = probe.search.slice('?q='.length);
          const leaks: Record<string, boolean> = {
            'hex lower': stored.includes(hex),
            'hex upper': stored.includes(hex.toUpperCase()),
            'basic auth, user of 1': stored.includes(basic('u', SECRETS.BASIC)),
            'basic auth, user of 2': stored.includes(basic('us', SECRETS.BASIC)),
            'basic auth, user of 3': stored.includes(basic('usr', SECRETS.BASIC)),
            'basic auth, any alignment': base64Reveals(stored, SECRETS.BASIC),
            'JSON-escaped': stored.includes(JSON.stringify(SECRETS.JSON).slice(1, -1)),
            'exec argv echo': stored.includes(JSON.stringify(SECRETS.ARGV).slice(1, -1)),
            // Each chunk decoded alone turns the split characters into U+FFFD and leaves the ASCII run.
            'non-ASCII byte per write (log)': logs.includes('nary-7731'),
            'non-ASCII byte per write (outputs)': JSON.stringify(steps.lastline?.outputs).includes('nary-7731'),
            'URL path (WHATWG)': stored.includes(pathForm),
            'URL query (WHATWG)': stored.includes(queryForm),
            'URL userinfo (basic auth header)': stored.includes(basic('webuser', SECRETS.BASIC)),
            'host (lowercased)': stored.includes(SECRETS.HOST.toLowerCase()),
            'provenance reference': stored.includes(SECRETS.PROV),
            'any raw value': Object.values(SECRETS).some((value) => stored.includes(value)),
          };
          const leaked = Object.entries(leaks)
            .filter(([, leak]) => leak)
            .map(([form]) => form);
          recordHostile(`secret forms a tool prints (${name})`, {
            attempts: Object.keys(leaks).length,
            refused: Object.keys(leaks).length - leaked.length,
            server_errors: 0,
            crashes: 0,
          });
          expect(leaked).toEqual([]);
          // Masked, not dropped: the values are still there as the mask.
          expect(logs).toContain('FORM hex=***');
          expect(logs).toContain('FORM uni=***');
          expect(steps.print?.outputs).toMatchObject({ hex: '***', HEX: '***' });
        } finally {
          h.engine.close();
          await store.close();
          if (storeUrl.startsWith('mongodb')) await dropMongoDatabase(storeUrl);
        }
      },
    );
  });
});

describe('hostile: NAT64 and SIIT forms of private addresses', () => {
  it('refuses http steps to local-use NAT64, well-known NAT64 and IPv4-translated forms of loopback and private addresses', async () => {
    const store = await openStore('memory://');
    const h = createHarness(store);
    const hosts = [
      '[64:ff9b:1::7f00:1]',
      '[64:ff9b:1::a00:1]',
      '[64:ff9b:1::a9fe:a9fe]',
      '[64:ff9b:1:7f00:0:100::]',
      '[64:ff9b::7f00:1]',
      '[::ffff:0:7f00:1]',
      '[::ffff:0:c0a8:101]',
      '[::ffff:0:a9fe:a9fe]',
    ];
    try {
      const { steps } = await h.runPlan({
        name: 'nat64',
        steps: hosts.map((host, index) => ({
          id: `h${index}`,
          uses: 'http',
          timeout_ms: 5000,
          retry: { max_attempts: 1 },
          with: { url: `http://${host}:9/` },
        })),
      });
      const codes = hosts.map((_, index) => steps[`h${index}`]?.error_info?.code);
      recordHostile('NAT64 and SIIT forms of private addresses', {
        attempts: hosts.length,
        refused: codes.filter((code) => code === 'url_forbidden').length,
        server_errors: 0,
        crashes: 0,
        hangs: codes.filter((code) => code === 'step_timeout').length,
      });
      expect(codes).toEqual(hosts.map(() => 'url_forbidden'));
    } finally {
      h.engine.close();
      await store.close();
    }
  });
});
