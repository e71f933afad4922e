/** Where and how the SQLite store keeps its data. */
export interface SqliteRunStoreConfig {
  /** The database file (absolute); ignored when inMemory. Default `.maestro/maestro.db` under the working directory. */
  file: string;
  /** Keep everything in one in-memory database of this process: nothing survives it. */
  inMemory: boolean;
  /**
   * FULL: every commit is fsynced before it returns, so it survives power loss. NORMAL (WAL): a commit survives
   * the process being killed, but the last ones before a power loss or OS crash may be rolled back.
   */
  synchronous: 'full' | 'normal';
  /**
   * How long a write waits for another process's write transaction before STORE_UNAVAILABLE. Well below a lease
   * (30 s by default, renewed every 10 s): writes hold the lock for milliseconds, so a longer wait means a stuck peer.
   */
  busyTimeoutMs: number;
}

export const defaultSqliteConfig: Readonly<SqliteRunStoreConfig> = Object.freeze({
  file: '.maestro/maestro.db',
  inMemory: false,
  synchronous: 'full',
  busyTimeoutMs: 5_000,
});
