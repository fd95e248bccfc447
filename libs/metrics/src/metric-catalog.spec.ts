import { describe, expect, it } from 'vitest';
import { boundLabel, boundLabels, LABEL_BOUNDS, routeLabel } from './label-bounds';
import { METRICS } from './metric-catalog';
import { parsePrometheusText, sampleValue } from './prometheus-text';
import { countRunDeletion, watchRedisConnection, WesMetrics } from './wes-metrics';
import { EventEmitter } from 'node:events';

const RUN_ID = '0192f3a4-5b6c-7d8e-9f01-23456789abcd';

describe('the metric catalog', () => {
  it('follows the Prometheus conventions: wes_ prefix, _total counters, _seconds histograms, bounded labels', () => {
    const names = new Set<string>();
    for (const def of Object.values(METRICS)) {
      expect(def.name).toMatch(/^wes_[a-z_]+$/);
      expect(names.has(def.name), def.name).toBe(false);
      names.add(def.name);
      if (def.kind === 'counter') expect(def.name).toMatch(/_total$/);
      else expect(def.name).not.toMatch(/_total$/);
      if (def.kind === 'histogram') expect(def.name).toMatch(/_seconds$/);
      for (const label of def.labels) expect(LABEL_BOUNDS[label], `${def.name}: ${label}`).toBeTypeOf('function');
      expect(def.processes.length).toBeGreaterThan(0);
    }
    expect(METRICS.runsDeleted.name).toBe('wes_runs_deleted_total');
    expect(METRICS.runsDeleted.labels).toEqual(['reason']);
  });

  it('bounds every label: a run id, a URL, a user-chosen method or reason becomes `other`', () => {
    expect(boundLabel('state', 'COMPLETE')).toBe('COMPLETE');
    expect(boundLabel('state', RUN_ID)).toBe('other');
    expect(boundLabel('engine', 'toil-cwl')).toBe('toil-cwl');
    expect(boundLabel('engine', 'x'.repeat(65))).toBe('other');
    expect(boundLabel('pool', 'big.runs_1')).toBe('big.runs_1');
    expect(boundLabel('pool', 'a b')).toBe('other');
    expect(boundLabel('status', '200')).toBe('200');
    expect(boundLabel('status', 'waiting')).toBe('waiting');
    expect(boundLabel('status', '999')).toBe('other');
    expect(boundLabel('method', 'GET')).toBe('GET');
    expect(boundLabel('method', 'PROPFIND')).toBe('other');
    expect(boundLabel('reason', 'retention')).toBe('retention');
    expect(boundLabel('reason', 'because')).toBe('other');
    expect(boundLabel('route', '/ga4gh/wes/v1/runs/:run_id/outputs/*')).toBe('/ga4gh/wes/v1/runs/:run_id/outputs/*');
    expect(boundLabel('route', `/ga4gh/wes/v1/runs/${RUN_ID}`)).toBe('other');
    expect(boundLabel('route', '/ga4gh/wes/v1/runs/0192f3a45b6c7d8e9f0123456789abcd')).toBe('other');
    expect(boundLabel('route', '/ga4gh/wes/v1/runs?page_token=abc')).toBe('other');
    expect(boundLabel('route', 'https://evil/x')).toBe('other');
    expect(boundLabels({ engine: 'cwltool', state: RUN_ID })).toEqual({ engine: 'cwltool', state: 'other' });
  });

  it('derives the route label from the router template, `unmatched` without one', () => {
    expect(routeLabel('/ga4gh/wes/v1/runs/:run_id')).toBe('/ga4gh/wes/v1/runs/:run_id');
    expect(routeLabel('/metrics')).toBe('/metrics');
    expect(routeLabel(undefined)).toBe('unmatched');
    expect(routeLabel('')).toBe('unmatched');
  });
});

describe('WesMetrics', () => {
  it("registers only its process's metrics, bounds labels and exposes parseable text", async () => {
    const api = new WesMetrics('api', { defaultMetrics: false });
    const worker = new WesMetrics('worker', { defaultMetrics: false });
    api.inc('runsSubmitted', { engine: 'cwltool' });
    api.inc('runsSubmitted', { engine: RUN_ID });
    api.inc('runsFinished', { engine: 'cwltool', state: 'COMPLETE' });
    worker.inc('runsFinished', { engine: 'cwltool', state: 'COMPLETE' });
    worker.observe('runDuration', { engine: 'cwltool' }, 2);
    worker.observe('runDuration', { engine: 'cwltool' }, Number.NaN);
    countRunDeletion(worker, 'retention', 3);
    api.collect('runsByState', (set) => set({ state: 'QUEUED' }, 4));
    const a = parsePrometheusText(await api.text());
    const w = parsePrometheusText(await worker.text());
    expect(sampleValue(a, 'wes_runs_submitted_total', { engine: 'cwltool' })).toBe(1);
    expect(sampleValue(a, 'wes_runs_submitted_total', { engine: 'other' })).toBe(1);
    expect(a.some((s) => s.name === 'wes_runs_finished_total')).toBe(false);
    expect(sampleValue(a, 'wes_runs', { state: 'QUEUED' })).toBe(4);
    expect(sampleValue(w, 'wes_runs_finished_total', { engine: 'cwltool', state: 'COMPLETE' })).toBe(1);
    expect(sampleValue(w, 'wes_run_duration_seconds_count', { engine: 'cwltool' })).toBe(1);
    expect(sampleValue(w, 'wes_run_duration_seconds_bucket', { engine: 'cwltool', le: '1' })).toBe(0);
    expect(sampleValue(w, 'wes_run_duration_seconds_bucket', { engine: 'cwltool', le: '5' })).toBe(1);
    expect(sampleValue(w, 'wes_runs_deleted_total', { reason: 'retention' })).toBe(3);
    expect(w.some((s) => s.name === 'wes_runs_submitted_total')).toBe(false);
  });

  it("counts a connection's errors and reconnects from its events", async () => {
    const m = new WesMetrics('worker', { defaultMetrics: false });
    const conn = new EventEmitter();
    watchRedisConnection(m, conn, 'bull');
    conn.emit('error', new Error('ECONNREFUSED'));
    conn.emit('error', new Error('ECONNREFUSED'));
    conn.emit('reconnecting', 50);
    const s = parsePrometheusText(await m.text());
    expect(sampleValue(s, 'wes_redis_errors_total', { connection: 'bull' })).toBe(2);
    expect(sampleValue(s, 'wes_redis_reconnects_total', { connection: 'bull' })).toBe(1);
  });
});

describe('parsePrometheusText', () => {
  it('reads samples with labels, escapes and special values, and refuses what is not the format', () => {
    const s = parsePrometheusText('# HELP x y\n# TYPE x counter\nx{a="1",b="q\\"t"} 3\ny 2.5\nz{le="+Inf"} +Inf\n\n');
    expect(s).toEqual([
      { name: 'x', labels: { a: '1', b: 'q"t' }, value: 3 },
      { name: 'y', labels: {}, value: 2.5 },
      { name: 'z', labels: { le: '+Inf' }, value: Infinity },
    ]);
    expect(() => parsePrometheusText('not a metric line at all {')).toThrow(/not a Prometheus sample/);
    expect(() => parsePrometheusText('x{a=1} 3')).toThrow(/bad labels/);
  });
});

describe('parsePrometheusText', () => {
  it('reads special values case-insensitively, as Prometheus does (prom-client writes `Nan`), and refuses other words', () => {
    const samples = parsePrometheusText('a Nan\nb NaN\nc +Inf\nd -inf\ne 1.5\n');
    expect(samples.map((s) => s.value)).toEqual([Number.NaN, Number.NaN, Infinity, -Infinity, 1.5]);
    expect(() => parsePrometheusText('a nope\n')).toThrow(/bad value/);
  });
});
