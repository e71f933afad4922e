import type { FastifyInstance } from 'fastify';
import { toMaestroError } from '../domain/errors.js';
import type { EngineOptions } from '../engine/engine.js';
import { Engine } from '../maestro-engine.js';
import { DEFAULT_API_KINDS, onlyKinds, type KindPolicy } from '../engine/trust/kind-policy.js';
import { openStore } from '../store/open.js';
import type { RunStore } from '../store/port.js';
import { PrometheusTelemetry } from '../observability/prometheus-telemetry.js';
import { logRunEvents } from '../observability/run-event-log.js';
import { scheduleLog } from '../observability/schedule-log.js';
import { buildApi } from './app.js';
import { TokenAuth } from './auth.js';

export interface ApiServerOptions {
  host: string;
  port: number;
  storeUrl: string;
  tokensFile: string;
  /** JSON log lines (pino, on stdout): the level, and whether each request is logged. Default: none. */
  logger?: false | { level: string; requests: boolean };
  inProcessRunner?: boolean;
  engine?: Partial<Omit<EngineOptions, 'store'>>;
  /** Step kinds plans submitted over the API may use, and that the built-in runner executes. Default: DEFAULT_API_KINDS. */
  allowKinds?: KindPolicy;
  /** Wait out store outages this long per operation (readiness says 503 meanwhile). Default 30 s. */
  storeOutageMs?: number;
  /** Store calls as spans (tracing is on). */
  traced?: boolean;
  /** Serve the web console at /console/. Default true. */
  console?: boolean;
  /** Registers hooks and handlers on the engine (a hooks config, a handlers module) before requests are served. */
  configure?: (engine: Engine) => Promise<void>;
  /** How close the ticks of a schedule created over the API may come. Default 60 s. */
  scheduleMinIntervalMs?: number;
  /** On close, how long the runs this server drives may take to end before they are handed back. Default 10 s. */
  stopGraceMs?: number;
}

export interface RunningApiServer {
  url: string;
  app: FastifyInstance;
  engine: Engine;
  store: RunStore;
  /** Stops taking requests, drains those in flight, then closes the store. */
  close(): Promise<void>;
}

/** Opens the store and serves the API on host:port (127.0.0.1 unless told otherwise). */
export async function startApiServer(options: ApiServerOptions): Promise<RunningApiServer> {
  const auth = TokenAuth.fromFile(options.tokensFile);
  const telemetry = new PrometheusTelemetry();
  const outage = { limitMs: options.storeOutageMs ?? 30_000 };
  const store = await openStore(options.storeUrl, { outage, telemetry, traced: options.traced ?? false });
  const allowKinds = options.allowKinds ?? onlyKinds(DEFAULT_API_KINDS);
  const engine = new Engine({ store, allowKinds, telemetry, ...options.engine });
  try {
    await options.configure?.(engine);
    const app = await buildApi({
      engine,
      store,
      auth,
      logger: options.logger ?? false,
      inProcessRunner: options.inProcessRunner ?? true,
      submitKinds: allowKinds,
      metrics: telemetry,
      console: options.console ?? true,
      ...(options.scheduleMinIntervalMs ? { scheduleMinIntervalMs: options.scheduleMinIntervalMs } : {}),
    });
    if (options.logger) logRunEvents(engine.events, app.log);
    const url = await app.listen({ host: options.host, port: options.port });
    // A server that runs runs is a worker too: it fires schedules and takes the runs nobody attends (schedule
    // ticks, runs started without `execute`, a dead runner's); with --no-runner the workers do both.
    const stopRunning = new AbortController();
    const running =
      (options.inProcessRunner ?? true)
        ? Promise.all([
            engine.runSchedules(stopRunning.signal, scheduleLog(app.log)),
            engine.work({
              signal: stopRunning.signal,
              onError: (error) => app.log.error({ err: toMaestroError(error) }, 'run stopped on this server'),
            }),
          ])
        : Promise.resolve();
    return {
      url,
      app,
      engine,
      store,
      async close() {
        stopRunning.abort();
        await app.close();
        // What it drives ends within the grace period, or is handed back to the next runner.
        await engine.stopDriving(options.stopGraceMs ?? 10_000);
        await running;
        engine.close();
        await store.close();
      },
    };
  } catch (error) {
    engine.close();
    await store.close();
    throw error;
  }
}
