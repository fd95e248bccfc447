import { describe, expect, it } from 'vitest';
import { runPathOf } from './link-signer';

const RUN = '01936f6e-0000-7000-8000-000000000001';

describe('runPathOf', () => {
  it('gives the decoded path under the run, without the query', () => {
    expect(runPathOf(`/ga4gh/wes/v1/runs/${RUN}/logs/stdout?expires=1&signature=x`, RUN)).toBe('logs/stdout');
    expect(runPathOf(`/ga4gh/wes/v1/runs/${RUN}/tasks/3/logs/stderr`, RUN)).toBe('tasks/3/logs/stderr');
    expect(runPathOf(`/ga4gh/wes/v1/runs/${RUN}/outputs/dir/a%20b%3F.txt?signature=x`, RUN)).toBe('outputs/dir/a b?.txt');
  });

  it('gives nothing for another run, another root, or a path that does not decode', () => {
    expect(runPathOf(`/ga4gh/wes/v1/runs/${RUN}/logs/stdout`, 'other')).toBeUndefined();
    expect(runPathOf(`/other/runs/${RUN}/logs/stdout`, RUN)).toBeUndefined();
    expect(runPathOf(`/ga4gh/wes/v1/runs/${RUN}`, RUN)).toBeUndefined();
    expect(runPathOf(`/ga4gh/wes/v1/runs/${RUN}/outputs/%E0%A4%A`, RUN)).toBeUndefined();
  });
});
