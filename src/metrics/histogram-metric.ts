import type { Metric, Registry, RegistryContentType } from 'prom-client';
import type { SecondsHistogram } from './seconds-histogram.ts';

/** One line of a metric as prom-client's registry formats it. */
interface MetricLine {
  readonly metricName: string;
  readonly labels: Record<string, string | number>;
  readonly value: number;
}

/**
 * Registers `histogram` in `registry` as the Prometheus histogram `name`. The registry asks each
 * metric for its lines with `get()` at scrape time (and `reset()` on `resetMetrics`); this object
 * answers from the SecondsHistogram, so recording never goes through prom-client's allocating
 * `observe`. It has the shape prom-client's own metrics have, not their class, hence the cast.
 */
export function registerHistogram(registry: Registry<RegistryContentType>, name: string, help: string, histogram: SecondsHistogram): void {
  const metric = {
    name,
    help,
    type: 'histogram',
    aggregator: 'sum',
    get: async () => ({ name, help, type: 'histogram', aggregator: 'sum', values: histogramLines(name, histogram) }),
    reset: () => histogram.reset(),
  };
  registry.registerMetric(metric as unknown as Metric);
}

/** `name_bucket{le}` lines (cumulative, ending at +Inf), then `name_sum` and `name_count`. */
function histogramLines(name: string, histogram: SecondsHistogram): MetricLine[] {
  const { buckets, count, sum } = histogram.read();
  const lines: MetricLine[] = buckets.map(({ le, count: atMost }) => ({ metricName: `${name}_bucket`, labels: { le }, value: atMost }));
  lines.push({ metricName: `${name}_bucket`, labels: { le: '+Inf' }, value: count });
  lines.push({ metricName: `${name}_sum`, labels: {}, value: sum });
  lines.push({ metricName: `${name}_count`, labels: {}, value: count });
  return lines;
}
