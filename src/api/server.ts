import type { FastifyInstance } from 'fastify';
import type { EngineOptions } from '../engine/engine.js';
import { Engine } from '../maestro-engine.js';
import { DEFAULT_API_KINDS, onlyKinds, type KindPolicy } from '../engine/kind-policy.js';
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
    // A server that runs runs fires schedules too; with --no-runner the workers do.
    const stopScheduling = new AbortController();
    const scheduling =
      (options.inProcessRunner ?? true)
        ? engine.runSchedules(stopScheduling.signal, scheduleLog(app.log))
        : Promise.resolve();
    return {
      url,
      app,
      engine,
      store,
      async close() {
        stopScheduling.abort();
        await scheduling;
        await app.close();
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
