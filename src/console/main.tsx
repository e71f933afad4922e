import { render } from 'preact';
import { useMemo, useState } from 'preact/hooks';
import type { Principal } from '../generated/schemas.js';
import { ApiClient } from './api-client.js';
import { useRoute } from './route.js';
import { RunPage } from './run-page.js';
import { RunsList } from './runs-list.js';
import { SignIn } from './sign-in.js';

const TOKEN_KEY = 'maestro.token';
const PRINCIPAL_KEY = 'maestro.principal';

/** The console: sign in once per tab, then the runs list and run pages, routed by the URL's hash. */
function App() {
  const [session, setSession] = useState<{ token: string; principal: Principal } | undefined>(() => {
    const token = sessionStorage.getItem(TOKEN_KEY);
    const principal = sessionStorage.getItem(PRINCIPAL_KEY);
    return token && principal ? { token, principal: JSON.parse(principal) as Principal } : undefined;
  });
  const api = useMemo(() => (session ? new ApiClient(session.token) : undefined), [session]);
  const route = useRoute();

  if (!session || !api)
    return (
      <SignIn
        onSignedIn={(token, principal) => {
          sessionStorage.setItem(TOKEN_KEY, token);
          sessionStorage.setItem(PRINCIPAL_KEY, JSON.stringify(principal));
          setSession({ token, principal });
        }}
      />
    );
  return (
    <>
      <header class="top">
        <a href="#/runs" class="brand">
          Maestro Conductor
        </a>
        <span class="who">
          {session.principal.owner} · {session.principal.role}
        </span>
        <button
          type="button"
          onClick={() => {
            sessionStorage.clear();
            setSession(undefined);
          }}
        >
          Sign out
        </button>
      </header>
      {route.page === 'run' ? (
        <RunPage api={api} principal={session.principal} runId={route.runId} stepKey={route.stepKey} />
      ) : (
        <RunsList api={api} />
      )}
    </>
  );
}

render(<App />, document.getElementById('app')!);
