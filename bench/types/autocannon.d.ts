// autocannon ships no typings; this declares the part the benchmarks use.
declare module 'autocannon' {
  interface Result {
    requests: { total: number; average: number };
    errors: number;
    non2xx: number;
    latency: { p50: number; p97_5: number; p99: number };
  }
  function autocannon(options: Record<string, unknown>): Promise<Result>;
  export default autocannon;
}
