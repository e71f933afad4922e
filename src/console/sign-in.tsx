import { useState } from 'preact/hooks';
import { ApiClient, ApiError } from './api-client.js';
import type { Principal } from '../generated/schemas.js';

/**
 * Sign-in takes a token once; it is kept in this tab's sessionStorage only (gone when the tab closes) and sent in
 * the Authorization header, never in a URL.
 */
export function SignIn({ onSignedIn }: { onSignedIn: (token: string, principal: Principal) => void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError('');
    try {
      onSignedIn(token, await new ApiClient(token).me());
    } catch (failure) {
      setError(
        failure instanceof ApiError && failure.status === 401 ? 'That token is not valid here.' : String(failure),
      );
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="sign-in">
      <h1>Maestro Conductor</h1>
      <form onSubmit={(event) => void submit(event)}>
        <label for="token">API token</label>
        <input
          id="token"
          type="password"
          autocomplete="off"
          required
          value={token}
          onInput={(event) => setToken((event.target as HTMLInputElement).value)}
        />
        <button type="submit" disabled={busy || token === ''}>
          Sign in
        </button>
        {error && (
          <p role="alert" class="error">
            {error}
          </p>
        )}
      </form>
      <p class="hint">The token stays in this tab only. Tokens come from the server's tokens file.</p>
    </main>
  );
}
