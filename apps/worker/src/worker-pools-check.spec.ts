import 'reflect-metadata';
import { describe, expect, it } from 'vitest';
import { loadSettings } from '../../../libs/config/src';
import { WorkerPools } from '../../../libs/queue/src';
import { checkPoolsRunnable, NoEngineError } from './worker-host';

describe('a worker and the engines of its pools', () => {
  const cwltoolOnly = { cwltool: '3.1.20240508115724' };

  it('refuses a configured pool one of whose engines it cannot run, saying which and what to do', () => {
    const pools = new WorkerPools(loadSettings({ WES_POOL_CLUSTER_ENGINES: 'cwltool', WES_POOL_CLUSTER_CONCURRENCY: '2' }));
    const found = { 'some-engine': '1.0' };
    expect(() => checkPoolsRunnable(pools.servedBy('cluster'), found)).toThrow(NoEngineError);
    expect(() => checkPoolsRunnable(pools.servedBy('cluster'), found)).toThrow(
      'pool cluster runs cwltool, which this worker cannot run (it runs some-engine): install it, or leave the pool out of WES_WORKER_POOLS',
    );
    expect(() => checkPoolsRunnable(pools.servedBy('cluster'), cwltoolOnly)).not.toThrow();
  });

  it('serves the implicit default pool with whichever engines it found, as before pools', () => {
    expect(() => checkPoolsRunnable(new WorkerPools(loadSettings({})).servedBy(''), cwltoolOnly)).not.toThrow();
  });
});
