import { describe, expect, it } from 'vitest';
import { runForm } from '../helpers/client';
import { expectValid, expectValidComponent, matchTemplate, SchemaViolationError } from '../helpers/wes-schema';

/** The validator must be able to fail, or every "valid" verdict in the e2e tests is worthless. */
describe('WES schema validator', () => {
  it('accepts bodies that follow the WES 1.1.0 document', () => {
    expectValid('GET', '/runs', 200, { runs: [{ run_id: 'r1', state: 'QUEUED', tags: {} }], next_page_token: '' });
    expectValid('GET', '/runs/{run_id}/status', 200, { run_id: 'r1', state: 'RUNNING' });
    expectValid('POST', '/runs', 400, { msg: 'workflow_url is missing', status_code: 400 });
    expectValid('GET', '/runs/{run_id}', 200, {
      run_id: 'r1',
      state: 'COMPLETE',
      request: { workflow_type: 'CWL', workflow_type_version: 'v1.2', workflow_url: 'main.cwl', workflow_params: {} },
      run_log: { cmd: ['cwltool', 'main.cwl'], exit_code: 0, start_time: '2024-01-01T00:00:00Z', system_logs: [] },
      task_logs_url: 'http://x/ga4gh/wes/v1/runs/r1/tasks',
      task_logs: null,
      outputs: {},
    });
  });

  it('rejects a RunListResponse whose runs is not an array', () => {
    expect(() => expectValid('GET', '/runs', 200, { runs: 'x', next_page_token: '' })).toThrow(SchemaViolationError);
    expect(() => expectValid('GET', '/runs', 200, { runs: [{ state: 'QUEUED' }] })).toThrow(/run_id/);
  });

  it('rejects an ErrorResponse whose status_code is a string', () => {
    expect(() => expectValid('GET', '/runs/{run_id}', 404, { msg: 'no such run', status_code: '404' })).toThrow(/status_code/);
    expect(() => expectValidComponent('ErrorResponse', { msg: 1, status_code: 400 })).toThrow(/msg/);
  });

  it('rejects an unknown state, a non-integer exit code and a non-string cmd', () => {
    expect(() => expectValid('GET', '/runs/{run_id}/status', 200, { run_id: 'r', state: 'DONE' })).toThrow(/state/);
    expect(() => expectValid('GET', '/runs/{run_id}', 200, { run_id: 'r', run_log: { exit_code: 1.5 } })).toThrow(/exit_code/);
    expect(() => expectValid('GET', '/runs/{run_id}', 200, { run_id: 'r', run_log: { cmd: 'cwltool x' } })).toThrow(/cmd/);
  });

  it('checks ServiceInfo through the service-info Service schema it extends', () => {
    expect(() => expectValid('GET', '/service-info', 200, { id: 'x' })).toThrow(/organization/);
    const info = {
      id: 'org.example.wes',
      name: 'WES',
      type: { group: 'org.ga4gh', artifact: 'wes', version: '1.1.0' },
      organization: { name: 'Example', url: 'https://example.org' },
      version: '0.1.0',
      workflow_type_versions: { CWL: { workflow_type_version: ['v1.0'] } },
      supported_wes_versions: ['1.1.0'],
      supported_filesystem_protocols: ['file'],
      workflow_engine_versions: { cwltool: { workflow_engine_version: ['3.1'] } },
      default_workflow_engine_parameters: [],
      system_state_counts: { QUEUED: 0 },
      auth_instructions_url: '',
      tags: {},
    };
    expectValid('GET', '/service-info', 200, info);
    expect(() => expectValid('GET', '/service-info', 200, { ...info, type: { group: 'org.ga4gh' } })).toThrow(/artifact/);
    expect(() => expectValid('GET', '/service-info', 200, { ...info, system_state_counts: { QUEUED: 'one' } })).toThrow(/system_state_counts/);
    expect(() => expectValid('GET', '/service-info', 200, { ...info, organization: { name: 'x', url: 'not a url' } })).toThrow(/url/);
  });

  it('refuses statuses and operations the document does not define', () => {
    expect(() => expectValid('GET', '/runs/{run_id}/status', 418, { msg: 'teapot', status_code: 418 })).toThrow(/not documented/);
    expect(() => expectValid('DELETE', '/runs/{run_id}', 200, {})).toThrow(/no operation/);
  });

  it('maps concrete paths to the most specific template', () => {
    expect(matchTemplate('GET', '/ga4gh/wes/v1/runs/abc')).toBe('/runs/{run_id}');
    expect(matchTemplate('GET', '/ga4gh/wes/v1/runs/abc/status')).toBe('/runs/{run_id}/status');
    expect(matchTemplate('POST', '/ga4gh/wes/v1/runs/abc/cancel')).toBe('/runs/{run_id}/cancel');
    expect(matchTemplate('GET', '/ga4gh/wes/v1/runs/abc/tasks/t1')).toBe('/runs/{run_id}/tasks/{task_id}');
    expect(matchTemplate('GET', '/ga4gh/wes/v1/runs?page_size=2')).toBe('/runs');
    expect(matchTemplate('GET', '/ga4gh/wes/v1/runs/abc/logs/stdout')).toBeUndefined();
    expect(matchTemplate('GET', '/ga4gh/wes/v1/runs/abc/cancel')).toBeUndefined();
  });
});

describe('runForm', () => {
  it('keeps sub-folders in attachment filenames and sends JSON fields as text or file parts', async () => {
    const form = runForm({
      workflow_url: 'main.cwl',
      workflow_type: 'CWL',
      workflow_type_version: 'v1.2',
      workflow_params: { a: 1 },
      tags: { t: 'x' },
      asFileParts: ['tags'],
      attachments: { 'main.cwl': 'x', 'tools/rev.cwl': 'y' },
    });
    const body = await new Response(form).text();
    expect(body).toContain('name="workflow_attachment"; filename="tools/rev.cwl"');
    expect(body).toMatch(/name="tags"; filename="tags\.json"\r\nContent-Type: application\/json/);
    expect(body).toMatch(/name="workflow_params"\r\n\r\n\{"a":1\}/);
  });
});
