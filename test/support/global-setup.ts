import { MongoClient } from 'mongodb';
import type { TestProject } from 'vitest/node';

export interface MongoTestServer {
  /** How the suites name it: `ferretdb`, `mongo-java-server`, `mongod`. */
  name: string;
  url: string;
}

const inCi = process.env.CI === 'true';

/** `ferretdb=mongodb://…,mongo-java-server=mongodb://…` (MAESTRO_TEST_MONGO_URLS), or one MAESTRO_TEST_MONGO_URL. */
function configuredServers(): MongoTestServer[] {
  const list = process.env.MAESTRO_TEST_MONGO_URLS;
  if (list) {
    return list
      .split(',')
      .filter((entry) => entry.trim() !== '')
      .map((entry) => {
        const at = entry.indexOf('=');
        if (at <= 0) throw new Error(`MAESTRO_TEST_MONGO_URLS: "${entry}" is not name=url`);
        return { name: entry.slice(0, at).trim(), url: entry.slice(at + 1).trim() };
      });
  }
  const single = process.env.MAESTRO_TEST_MONGO_URL;
  return single ? [{ name: 'mongodb', url: single }] : [];
}

async function assertAnswers(server: MongoTestServer): Promise<void> {
  const client = new MongoClient(server.url, { serverSelectionTimeoutMS: 5000 });
  try {
    await client.db('admin').command({ ping: 1 });
  } catch (error) {
    throw new Error(
      `MongoDB-wire server ${server.name} at ${server.url} does not answer: ${(error as Error).message}`,
      { cause: error },
    );
  } finally {
    await client.close();
  }
}

/**
 * Picks the MongoDB servers of the MongoDB suites: MAESTRO_TEST_MONGO_URLS / MAESTRO_TEST_MONGO_URL, else
 * mongodb-memory-server (a real mongod it downloads, or MONGOMS_SYSTEM_BINARY), else none: the MongoDB tests are
 * reported as skipped, loudly. In CI (CI=true) a missing or silent server fails the run instead.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let stop = async (): Promise<void> => {};
  let servers = configuredServers();
  for (const server of servers) await assertAnswers(server);
  if (servers.length === 0) {
    try {
      const { MongoMemoryServer } = await import('mongodb-memory-server');
      const memory = await MongoMemoryServer.create({ instance: { ip: '127.0.0.1' } });
      servers = [{ name: 'mongod', url: memory.getUri() }];
      stop = async () => {
        await memory.stop();
      };
    } catch (error) {
      const reason = `MAESTRO_TEST_MONGO_URLS is not set and mongodb-memory-server could not start mongod (${(error as Error).message.split('\n')[0]})`;
      if (inCi)
        throw new Error(
          `CI needs a MongoDB-wire server: ${reason}. bash .ci/run starts FerretDB and mongo-java-server.`,
          { cause: error },
        );
      console.log(`\n!!! MongoDB suites SKIPPED: ${reason}.\n!!! bash .ci/run starts two servers and sets it.\n`);
    }
  }
  for (const server of servers)
    console.log(`>>> MongoDB suites run on ${server.name}: ${server.url.replace(/\/\/[^@/]*@/, '//***@')}`);
  project.provide('mongoServers', servers);
  return stop;
}

declare module 'vitest' {
  export interface ProvidedContext {
    mongoServers: MongoTestServer[];
  }
}
