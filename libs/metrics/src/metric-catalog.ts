/**
 * Every Prometheus metric of the API and the workers, in one typed table: its name (`wes_`
 * prefix, `_seconds`, `_total`), help, kind, labels and the processes that expose it. Each
 * label's values are bounded (label-bounds.ts): no run id, user or raw URL ever becomes a
 * series of its own.
 */

/** A label every metric may carry, and what bounds its values (label-bounds.ts). */
export type MetricLabel = 'state' | 'pool' | 'status' | 'engine' | 'route' | 'method' | 'connection' | 'reason';

/** The processes that serve /metrics. */
export type MetricProcess = 'api' | 'worker';

export interface MetricDefinition {
  name: string;
  help: string;
  kind: 'counter' | 'gauge' | 'histogram';
  labels: readonly MetricLabel[];
  processes: readonly MetricProcess[];
  /** Histogram buckets, in seconds. */
  buckets?: readonly number[];
}

/** Request latencies: a millisecond to ten seconds (an upload of a large attachment is longer). */
const HTTP_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Waits before a run starts: from a fraction of a second to an hour. */
const WAIT_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];
/** Runs: a second to a day. */
const RUN_BUCKETS = [1, 5, 10, 30, 60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 24 * 3600];

export const METRICS = {
  runsByState: {
    name: 'wes_runs',
    help: 'Runs in each WES state, from the counters the state transitions keep (read at scrape)',
    kind: 'gauge',
    labels: ['state'],
    processes: ['api'],
  },
  queueJobs: {
    name: 'wes_queue_jobs',
    help: "Jobs in each pool's queue by status (waiting, active, delayed), read at scrape",
    kind: 'gauge',
    labels: ['pool', 'status'],
    processes: ['api'],
  },
  runsSubmitted: {
    name: 'wes_runs_submitted_total',
    help: 'Runs accepted by POST /runs, by engine',
    kind: 'counter',
    labels: ['engine'],
    processes: ['api'],
  },
  runsDeleted: {
    name: 'wes_runs_deleted_total',
    help: 'Runs deleted, by reason: request (DELETE /runs/{id}) or retention (the reaper)',
    kind: 'counter',
    labels: ['reason'],
    processes: ['api', 'worker'],
  },
  httpRequests: {
    name: 'wes_http_requests_total',
    help: 'HTTP requests answered, by route template, method and status',
    kind: 'counter',
    labels: ['route', 'method', 'status'],
    processes: ['api'],
  },
  httpDuration: {
    name: 'wes_http_request_duration_seconds',
    help: 'Time to answer an HTTP request, by route template, method and status',
    kind: 'histogram',
    labels: ['route', 'method', 'status'],
    processes: ['api'],
    buckets: HTTP_BUCKETS,
  },
  runsFinished: {
    name: 'wes_runs_finished_total',
    help: 'Runs this worker ended, by engine and final state',
    kind: 'counter',
    labels: ['engine', 'state'],
    processes: ['worker'],
  },
  runDuration: {
    name: 'wes_run_duration_seconds',
    help: 'Time from RUNNING to the final state of the runs this worker ended, by engine',
    kind: 'histogram',
    labels: ['engine'],
    processes: ['worker'],
    buckets: RUN_BUCKETS,
  },
  queueWait: {
    name: 'wes_run_queue_wait_seconds',
    help: 'Time a run waited QUEUED before this worker claimed it (INITIALIZING), by engine',
    kind: 'histogram',
    labels: ['engine'],
    processes: ['worker'],
    buckets: WAIT_BUCKETS,
  },
  dispatchLatency: {
    name: 'wes_run_dispatch_seconds',
    help: "Time from QUEUED to the engine's start (staging included), by engine",
    kind: 'histogram',
    labels: ['engine'],
    processes: ['worker'],
    buckets: WAIT_BUCKETS,
  },
  cancelLatency: {
    name: 'wes_run_cancel_seconds',
    help: 'Time from the cancel request (CANCELING) to CANCELED, for runs this worker held, by engine',
    kind: 'histogram',
    labels: ['engine'],
    processes: ['worker'],
    buckets: WAIT_BUCKETS,
  },
  engineProcesses: {
    name: 'wes_engine_processes',
    help: 'Engine processes (process groups) this worker has running, by engine',
    kind: 'gauge',
    labels: ['engine'],
    processes: ['worker'],
  },
  workerSlots: {
    name: 'wes_worker_slots',
    help: "This worker's run slots by status (busy, free): the concurrency of the pools it serves",
    kind: 'gauge',
    labels: ['status'],
    processes: ['worker'],
  },
  redisErrors: {
    name: 'wes_redis_errors_total',
    help: "Errors reported by this process's Redis connections, by connection",
    kind: 'counter',
    labels: ['connection'],
    processes: ['api', 'worker'],
  },
  redisReconnects: {
    name: 'wes_redis_reconnects_total',
    help: "Reconnection attempts of this process's Redis connections, by connection",
    kind: 'counter',
    labels: ['connection'],
    processes: ['api', 'worker'],
  },
} as const satisfies Record<string, MetricDefinition>;

export type MetricKey = keyof typeof METRICS;

/** The label names of one metric of the catalog, as a union (for typed label objects). */
export type LabelsOf<K extends MetricKey> = (typeof METRICS)[K]['labels'][number];
