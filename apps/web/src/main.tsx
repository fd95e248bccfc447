import { render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { onAuthNeeded, savedToken, saveToken, ServiceInfo, wesJson } from './api';
import { RunPage } from './pages/run-page';
import { RunsPage } from './pages/runs-page';
import { ServicePage } from './pages/service-page';
import { SubmitPage } from './pages/submit-page';
import { Link, Route, uiHref, useRoute } from './router';
import './style.css';

/** The token field: kept in session storage (gone with the tab), sent as a bearer header. */
function TokenField({ needed }: { needed: boolean }) {
  const [value, setValue] = useState(savedToken());
  const [saved, setSaved] = useState(savedToken() !== '');
  const save = (e: Event) => {
    e.preventDefault();
    saveToken(value.trim());
    setSaved(value.trim() !== '');
    // Everything on the page reads again with the new token.
    location.reload();
  };
  return (
    <form class="token" onSubmit={save}>
      <label>
        API token
        <input
          id="token"
          type="password"
          autocomplete="off"
          value={value}
          onInput={(e) => setValue(e.currentTarget.value)}
          aria-invalid={needed ? 'true' : undefined}
          aria-describedby={needed ? 'auth-prompt' : undefined}
        />
      </label>
      <button type="submit">{saved ? 'Change' : 'Use'}</button>
      {saved && (
        <button type="button" onClick={() => (saveToken(''), location.reload())}>
          Forget
        </button>
      )}
    </form>
  );
}

function AuthPrompt({ instructions }: { instructions?: string }) {
  return (
    <div id="auth-prompt" class="auth-prompt" role="alert">
      <strong>This server needs a token.</strong> {savedToken() ? 'The token given was refused. ' : ''}Enter your API token in the field above
      {instructions ? (
        <>
          {' '}
          (<a href={instructions}>how to get one</a>)
        </>
      ) : null}
      .
    </div>
  );
}

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case 'runs':
      return <RunsPage />;
    case 'run':
      return <RunPage key={route.runId} runId={route.runId} />;
    case 'submit':
      return <SubmitPage />;
    case 'service':
      return <ServicePage />;
    default:
      return (
        <main id="main" tabIndex={-1}>
          <h1>Not found</h1>
          <p>
            No such page. <Link href={uiHref('')}>See the runs</Link>.
          </p>
        </main>
      );
  }
}

function App() {
  const route = useRoute();
  const [authNeeded, setAuthNeeded] = useState(false);
  const [instructions, setInstructions] = useState<string | undefined>();
  useEffect(() => onAuthNeeded(setAuthNeeded), []);
  useEffect(() => {
    if (authNeeded && instructions === undefined) wesJson<ServiceInfo>('service-info').then((i) => setInstructions(i.auth_instructions_url ?? ''), () => setInstructions(''));
  }, [authNeeded]);
  // After a navigation (not on load), focus moves to the new page's content, so keyboard and
  // screen reader users follow.
  const loaded = useRef(false);
  useEffect(() => {
    if (loaded.current) document.getElementById('main')?.focus({ preventScroll: true });
    loaded.current = true;
    document.title = `${{ runs: 'Runs', run: 'Run', submit: 'Submit', service: 'Service', missing: 'Not found' }[route.page]} · WES dashboard`;
  }, [route.page, route.page === 'run' ? route.runId : '']);
  const current = (page: Route['page']) => (route.page === page ? 'page' : undefined);
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header>
        <nav aria-label="Dashboard">
          <span class="brand">WES</span>
          <Link href={uiHref('')} aria-current={current('runs') ?? (route.page === 'run' ? 'true' : undefined)}>
            Runs
          </Link>
          <Link href={uiHref('submit')} aria-current={current('submit')}>
            Submit
          </Link>
          <Link href={uiHref('service')} aria-current={current('service')}>
            Service
          </Link>
        </nav>
        <TokenField needed={authNeeded} />
      </header>
      {authNeeded && <AuthPrompt instructions={instructions} />}
      <Page route={route} />
    </>
  );
}

render(<App />, document.getElementById('app')!);
