// migrate-mongo ships no typings; this declares the part of its programmatic API Maestro uses.
declare module 'migrate-mongo' {
  import type { Db, MongoClient } from 'mongodb';
  export const config: { set(content: Record<string, unknown>): void };
  export function up(db: Db, client: MongoClient): Promise<string[]>;
  export function down(db: Db, client: MongoClient): Promise<string[]>;
  export function status(db: Db): Promise<Array<{ fileName: string; appliedAt: string }>>;
}
