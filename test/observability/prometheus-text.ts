import { spawnSync } from 'node:child_process';

/** One metric family as the official Prometheus Python client's text parser reads it. */
export interface MetricFamily {
  /** The exposed name: a counter keeps its `_total`. */
  name: string;
  type: string;
  help: string;
  /** NaN (prom-client's event-loop lag gauges before their first sample) becomes null: JSON has no NaN. */
  samples: Array<{ name: string; labels: Record<string, string>; value: number }>;
}

const SCRIPT = `
import json, sys
from prometheus_client.parser import text_string_to_metric_families
families = []
for f in text_string_to_metric_families(sys.stdin.read()):
    families.append({"name": f.name + ("_total" if f.type == "counter" else ""), "type": f.type,
                     "help": f.documentation,
                     "samples": [{"name": s.name, "labels": s.labels, "value": s.value if s.value == s.value else None}
                                 for s in f.samples]})
print(json.dumps(families))
`;

/** The python that has prometheus_client (.ci/prometheus-parser.sh sets MAESTRO_PROM_PYTHON), if any. */
export function prometheusParser(): string | undefined {
  const python = process.env.MAESTRO_PROM_PYTHON ?? 'python3';
  const probe = spawnSync(python, ['-c', 'import prometheus_client'], { encoding: 'utf8' });
  return probe.status === 0 ? python : undefined;
}

/** Parses Prometheus exposition text with the reference client's parser, by family name. */
export function parsePrometheusText(python: string, text: string): Map<string, MetricFamily> {
  const result = spawnSync(python, ['-c', SCRIPT], { input: text, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(`the Prometheus parser refused the exposition: ${result.stderr}`);
  const families = JSON.parse(result.stdout) as MetricFamily[];
  return new Map(families.map((family) => [family.name, family]));
}

/** The sum of the samples named `sample` whose labels include `labels`. */
export function sumOf(
  families: Map<string, MetricFamily>,
  family: string,
  sample: string,
  labels: Record<string, string> = {},
): number {
  return (families.get(family)?.samples ?? [])
    .filter((s) => s.name === sample && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}
