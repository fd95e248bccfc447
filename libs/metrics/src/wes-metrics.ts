import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { boundLabels } from './label-bounds';
import { LabelsOf, MetricKey, MetricProcess, METRICS } from './metric-catalog';

type KeyOfKind<T extends 'counter' | 'gauge' | 'histogram'> = { [K in MetricKey]: (typeof METRICS)[K]['kind'] extends T ? K : never }[MetricKey];
export type CounterKey = KeyOfKind<'counter'>;
export type GaugeKey = KeyOfKind<'gauge'>;
export type HistogramKey = KeyOfKind<'histogram'>;

type Labels<K extends MetricKey> = Partial<Record<LabelsOf<K>, string>>;

/** Sets a gauge's values while a scrape collects it. */
export type GaugeCollector<K extends GaugeKey> = (set: (labels: Labels<K>, value: number) => void) => Promise<void> | void;

type AnyMetric = Counter<string> | Gauge<string> | Histogram<string>;

/**
 * The metrics of one process (the catalog's rows for `api` or `worker`) in a registry of its
 * own, plus Node's default process metrics. Label values are bounded on the way in. A figure
 * read from elsewhere at scrape (runs by state, queue depth, slots) is a gauge collector.
 */
export class WesMetrics {
  readonly registry = new Registry();
  private readonly metrics = new Map<MetricKey, AnyMetric>();
  private readonly collectors = new Map<GaugeKey, GaugeCollector<GaugeKey>[]>();

  constructor(
    readonly process: MetricProcess,
    options: { defaultMetrics?: boolean } = {},
  ) {
    for (const [key, def] of Object.entries(METRICS) as [MetricKey, (typeof METRICS)[MetricKey]][]) {
      if (!(def.processes as readonly string[]).includes(process)) continue;
      const common = { name: def.name, help: def.help, labelNames: [...def.labels] as string[], registers: [this.registry] };
      if (def.kind === 'counter') this.metrics.set(key, new Counter(common));
      else if (def.kind === 'histogram') this.metrics.set(key, new Histogram({ ...common, buckets: [...('buckets' in def ? def.buckets : [])] }));
      else {
        const collectors = this.collectors;
        this.metrics.set(
          key,
          new Gauge({
            ...common,
            async collect() {
              const list = collectors.get(key as GaugeKey) ?? [];
              if (list.length) this.reset();
              for (const collect of list) await collect((labels, value) => this.set(boundLabels(labels as Record<string, string>), value));
            },
          }),
        );
      }
    }
    if (options.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  /** Counts one (or `by`) on a counter; a metric this process does not expose is ignored. */
  inc<K extends CounterKey>(key: K, labels: Labels<K>, by = 1): void {
    (this.metrics.get(key) as Counter<string> | undefined)?.inc(boundLabels(labels as Record<string, string>), by);
  }

  observe<K extends HistogramKey>(key: K, labels: Labels<K>, seconds: number): void {
    if (!Number.isFinite(seconds) || seconds < 0) return;
    (this.metrics.get(key) as Histogram<string> | undefined)?.observe(boundLabels(labels as Record<string, string>), seconds);
  }

  /** Moves a gauge kept up to date by events (engine processes alive). */
  add<K extends GaugeKey>(key: K, labels: Labels<K>, by: number): void {
    (this.metrics.get(key) as Gauge<string> | undefined)?.inc(boundLabels(labels as Record<string, string>), by);
  }

  /** Reads a gauge's values at each scrape; the gauge is emptied before its collectors run. */
  collect<K extends GaugeKey>(key: K, collector: GaugeCollector<K>): void {
    const list = this.collectors.get(key) ?? [];
    list.push(collector as unknown as GaugeCollector<GaugeKey>);
    this.collectors.set(key, list);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The Prometheus text exposition of every metric. */
  text(): Promise<string> {
    return this.registry.metrics();
  }
}

/** Counts a deleted run: `request` (DELETE /runs/{id}) or `retention` (the reaper's sweep). */
export function countRunDeletion(metrics: WesMetrics, reason: 'request' | 'retention', runs = 1): void {
  metrics.inc('runsDeleted', { reason }, runs);
}

/** What watchRedisConnection needs of a connection: ioredis's events. */
export interface RedisEvents {
  on(event: 'error' | 'reconnecting', listener: (...args: unknown[]) => void): unknown;
}

/**
 * Counts a Redis connection's errors and reconnection attempts under a name (`main`, `bull`,
 * `cancel`, …); ioredis reports both as events. Adds listeners only: whoever owns the
 * connection keeps its own error handling.
 */
export function watchRedisConnection(metrics: WesMetrics, connection: RedisEvents, name: string): void {
  connection.on('error', () => metrics.inc('redisErrors', { connection: name }));
  connection.on('reconnecting', () => metrics.inc('redisReconnects', { connection: name }));
}
