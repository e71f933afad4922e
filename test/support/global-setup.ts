import type { TestProject } from 'vitest/node';

/**
 * Picks the MongoDB server of the MongoDB suites, in order: MAESTRO_TEST_MONGO_URL, then mongodb-memory-server
 * (a real mongod it downloads, or MONGOMS_SYSTEM_BINARY), else none: the MongoDB suites skip, loudly.
 * It always says which backend it chose.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let stop = async (): Promise<void> => {};
  let url = process.env.MAESTRO_TEST_MONGO_URL;
  let origin = 'MAESTRO_TEST_MONGO_URL';
  if (!url) {
    try {
      const { MongoMemoryServer } = await import('mongodb-memory-server');
      const server = await MongoMemoryServer.create({ instance: { ip: '127.0.0.1' } });
      url = server.getUri();
      origin = 'mongodb-memory-server';
      stop = async () => {
        await server.stop();
      };
    } catch (error) {
      console.log(
        `\n!!! MongoDB suites SKIPPED: MAESTRO_TEST_MONGO_URL is not set and mongodb-memory-server could not start mongod (${(error as Error).message.split('\n')[0]}).\n!!! Set MAESTRO_TEST_MONGO_URL (bash .ci/run starts FerretDB and sets it) to run them.\n`,
      );
    }
  }
  if (url) console.log(`\n>>> MongoDB suites run against ${url.replace(/\/\/[^@/]*@/, '//***@')} (from ${origin})\n`);
  project.provide('mongoUrl', url ?? '');
  return stop;
}

declare module 'vitest' {
  export interface ProvidedContext {
    mongoUrl: string;
  }
}
