/** Where the embedded store keeps its data. */
export interface NedbRunStoreConfig {
  /** Directory of the data files (one per collection); ignored when inMemory. Default `.maestro/store`. */
  directory: string;
  /** Keep everything in memory only (`memory://`): nothing survives the process. */
  inMemory: boolean;
  /** Rewrite the append-only data files this often, so they stay proportional to the live data. */
  autocompactionIntervalMs: number;
}

export const defaultNedbConfig: Readonly<NedbRunStoreConfig> = Object.freeze({
  directory: '.maestro/store',
  inMemory: false,
  autocompactionIntervalMs: 60_000,
});
