// The dashboard's entry point in a browser, served by a gateway at /_tollgate/: a login form for
// the admin token, then the same app as the editor's webview over the admin API. The token is kept
// only in this tab's sessionStorage: never in a URL, a cookie or localStorage, gone with the tab.

import { render } from 'preact';
import { useMemo, useState } from 'preact/hooks';
import './browser.css';
import { App } from './app';
import { browserChannel, tokenAccepted } from './browser-channel';

const TOKEN_KEY = 'tollgate.adminToken';

function LoginForm({ notice, onToken }: { notice?: string; onToken: (token: string) => void }): preact.JSX.Element {
  const [error, setError] = useState<string | undefined>(notice);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event): Promise<void> => {
    // The form is never submitted by the browser: the token would otherwise end up in a request line.
    e.preventDefault();
    const input = (e.currentTarget as HTMLFormElement).elements.namedItem('token') as HTMLInputElement;
    const token = input.value.trim();
    if (token === '') return setError('Paste the admin token first.');
    setBusy(true);
    setError(undefined);
    try {
      if (await tokenAccepted(token)) onToken(token);
      else {
        input.value = '';
        setError('The gateway refused that token (401). Use the admin token from the gateway\'s data dir.');
      }
    } catch (err) {
      setError(`Cannot reach the gateway: ${(err as Error).message}`);
    } finally {
      setBusy(false);
    }
  };

  return (
    <main class="login">
      <h1>Tollgate</h1>
      <form method="post" action="#" onSubmit={(e) => void submit(e)} data-testid="login">
        <label for="token">Admin token</label>
        <input id="token" name="token" type="password" autocomplete="off" spellcheck={false} required autofocus />
        <button type="submit" disabled={busy}>Sign in</button>
        {error && <p class="notice error" role="alert" data-testid="login-error">{error}</p>}
        <p class="muted">The token is the file <code>admin-token</code> in the gateway's data dir. It stays in this tab only and is sent as a header, never in a URL.</p>
      </form>
    </main>
  );
}

function Root(): preact.JSX.Element {
  const [token, setToken] = useState<string | null>(() => sessionStorage.getItem(TOKEN_KEY));
  const [notice, setNotice] = useState<string | undefined>(undefined);

  const signOut = (message?: string): void => {
    sessionStorage.removeItem(TOKEN_KEY);
    setNotice(message);
    setToken(null);
  };
  const channel = useMemo(
    () => (token === null ? undefined : browserChannel({ token, onRefused: () => signOut('The gateway refused the admin token (401); sign in again.'), signOut: () => signOut() })),
    [token],
  );

  if (!channel) {
    return (
      <LoginForm
        notice={notice}
        onToken={(t) => {
          sessionStorage.setItem(TOKEN_KEY, t);
          setNotice(undefined);
          setToken(t);
        }}
      />
    );
  }
  return <App channel={channel} />;
}

render(<Root />, document.getElementById('root')!);
