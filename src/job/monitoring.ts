/**
 * Live monitoring of `vr-grpo train`: the coordinator's Prometheus metrics and its HTTP port (dashboard at `/`,
 * `/metrics`, `/healthz`), and the coordinator hooks that feed them. On resume `replay` refills the page from the run
 * folder's metrics.jsonl and events.jsonl, so it shows the whole run, not just what came after the restart.
 */
import type { Logger } from '../common/logger.js';
import type { Config } from '../config/index.js';
import type { CoordinatorOptions, StepMetrics } from '../coordinator/coordinator.js';
import { RunDir } from '../coordinator/run-dir.js';
import { MonitorServer } from '../dashboard/index.js';
import { isVrGrpoError } from '../errors/index.js';
import { CoordinatorMetrics } from '../metrics/index.js';

export interface TrainMonitoring {
  readonly metrics: CoordinatorMetrics;
  /** Null when `monitoring.http.enabled` is false. */
  readonly server: MonitorServer | null;
  /** Coordinator hooks that feed the metrics and the page; `onStep` also calls `next` (the progress bar). */
  hooks(next: (metrics: StepMetrics) => void): Pick<CoordinatorOptions, 'onStep' | 'onEvent' | 'onSampledGroup'>;
  /** On resume: shows the run so far on the page — metrics lines up to `lastStep` (the checkpoint) and the events. */
  replay(lastStep: number): void;
  /** Marks the run finished on /metrics and closes the HTTP port. Idempotent. */
  close(): Promise<void>;
}

export interface TrainMonitoringOptions {
  readonly config: Config;
  readonly runDir: string;
  /** `--metrics-port`, over `monitoring.http.port`. */
  readonly port?: number;
  readonly log: Logger;
}

/** Listens on the configured port; when it is taken (another run on 9464), on a free one, with a warning. */
async function startServer(o: TrainMonitoringOptions, metrics: CoordinatorMetrics): Promise<MonitorServer> {
  const http = o.config.monitoring.http;
  const port = o.port ?? http.port;
  const options = { host: http.host, allowedHosts: http.allowedHosts, allowedOrigins: http.allowedOrigins, runDir: o.runDir, metrics, log: o.log };
  try {
    return await MonitorServer.start({ ...options, port });
  } catch (error) {
    if (port === 0 || !isVrGrpoError(error, 'ADDRESS_IN_USE')) throw error;
    o.log.warn({ port }, 'the monitoring port is taken; using a free one');
    return MonitorServer.start({ ...options, port: 0 });
  }
}

export async function startTrainMonitoring(o: TrainMonitoringOptions): Promise<TrainMonitoring> {
  const metrics = new CoordinatorMetrics({ hallucinationWindow: o.config.monitoring.metrics.hallucinationWindow });
  const server = o.config.monitoring.http.enabled ? await startServer(o, metrics) : null;
  if (server !== null) process.stdout.write(`dashboard ${server.url} (metrics at ${server.url}metrics)\n`);
  let closing: Promise<void> | null = null;
  return {
    metrics,
    server,
    replay: (lastStep) => {
      if (server === null) return;
      const run = RunDir.reader(o.runDir);
      for (const r of run.readSteps()) if (r.step <= lastStep) server.publishStep(r);
      for (const e of run.read('events.jsonl')) server.publishEvent(e);
    },
    hooks: (next) => ({
      onStep: (m) => {
        metrics.recordStep(m);
        server?.publishStep(m);
        next(m);
      },
      onEvent: (e) => server?.publishEvent(e),
      onSampledGroup: (g) => server?.publishGroup(g),
    }),
    close: () => {
      closing ??= (async () => {
        metrics.runFinished();
        await server?.close();
      })();
      return closing;
    },
  };
}
