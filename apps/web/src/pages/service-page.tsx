import { useState } from 'preact/hooks';
import { RUN_STATES } from '../../../../libs/runs/src/states';
import { ServiceInfo, wesJson } from '../api';
import { ErrorNote, Facts, Section, StateBadge } from '../components';
import { usePolling } from '../polling';

export const SERVICE_POLL_MS = 5000;

export function ServicePage() {
  const [info, setInfo] = useState<ServiceInfo | undefined>();
  const [error, setError] = useState<unknown>();
  usePolling(
    async () => {
      try {
        setInfo(await wesJson<ServiceInfo>('service-info'));
        setError(undefined);
      } catch (err) {
        setError(err);
      }
    },
    SERVICE_POLL_MS,
    [],
  );
  return (
    <main id="main" tabIndex={-1}>
      <h1>Service</h1>
      <ErrorNote error={error} />
      {info && (
        <>
          <Facts
            rows={[
              ['Name', info.name],
              ['Version', info.version],
              ['WES versions', info.supported_wes_versions.join(', ')],
              ['Live workers', info.tags?.live_workers],
              ['File systems', info.supported_filesystem_protocols.join(', ')],
            ]}
          />
          <Section title="Workflow types" id="types">
            <ul>
              {Object.entries(info.workflow_type_versions).map(([t, v]) => (
                <li key={t}>
                  {t}: {v.workflow_type_version.join(', ')}
                </li>
              ))}
            </ul>
          </Section>
          <Section title="Engines" id="engines">
            {Object.keys(info.workflow_engine_versions).length === 0 ? (
              <p class="muted">No live worker runs an engine.</p>
            ) : (
              <ul>
                {Object.entries(info.workflow_engine_versions).map(([e, v]) => (
                  <li key={e}>
                    <span class="mono">{e}</span> {v.workflow_engine_version.join(', ')}
                  </li>
                ))}
              </ul>
            )}
          </Section>
          <Section title="Runs per state" id="counts">
            <div class="table-wrap">
              <table class="counts">
                <tbody>
                  {RUN_STATES.filter((s) => s in info.system_state_counts).map((s) => (
                    <tr key={s}>
                      <th scope="row">
                        <StateBadge state={s} />
                      </th>
                      <td>{info.system_state_counts[s]}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </Section>
          {info.worker_pools && (
            <Section title="Worker pools" id="pools">
              <div class="table-wrap">
                <table>
                  <thead>
                    <tr>
                      <th scope="col">Pool</th>
                      <th scope="col">Engines</th>
                      <th scope="col">Default for</th>
                      <th scope="col">Runs per worker</th>
                      <th scope="col">Live workers</th>
                    </tr>
                  </thead>
                  <tbody>
                    {Object.entries(info.worker_pools).map(([name, p]) => (
                      <tr key={name}>
                        <td class="mono">{name}</td>
                        <td>{p.engines.join(', ')}</td>
                        <td>{p.default_for.join(', ')}</td>
                        <td>{p.concurrency_per_worker}</td>
                        <td>{p.live_workers}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            </Section>
          )}
        </>
      )}
    </main>
  );
}
