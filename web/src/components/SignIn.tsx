import { useState, type FormEvent } from 'react';
import { REFUSED_MESSAGE, useSession } from '../api/session';
import { isUnauthorized } from '../api/client';
import { navigate, parseViewState } from '../lib/urlState';
import { errorMessage } from './Panel';

export function SignIn() {
  const { notice, signIn, makeClient } = useSession();
  const [key, setKey] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const k = key.trim();
    if (!k) {
      setError('Paste a read key first.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const { workspaces } = await makeClient(k).workspaces();
      const cur = parseViewState(window.location.search).ws;
      if (workspaces.length > 0 && (!cur || !workspaces.includes(cur))) {
        navigate({ ws: workspaces[0]!, agent: null, exec: null }, { replace: true });
      }
      signIn(k);
    } catch (err) {
      setError(isUnauthorized(err) ? REFUSED_MESSAGE : `Could not sign in: ${errorMessage(err)}`);
      setBusy(false);
    }
  };

  const shown = error ?? notice;
  return (
    <main className="flex min-h-screen items-center justify-center p-4">
      <form onSubmit={submit} aria-labelledby="signin-title" className="w-full max-w-md rounded-lg border border-slate-200 bg-white p-6 shadow-sm">
        <h1 id="signin-title" className="text-lg font-semibold">
          Shadower execution metrics
        </h1>
        <p className="mt-1 text-sm text-slate-600">
          Sign in with a read key of your workspace. <code className="text-xs">shadower demo</code> prints an address that signs
          you in directly.
        </p>
        {shown && (
          <p role="alert" className="mt-4 rounded border border-red-200 bg-red-50 p-3 text-sm text-red-800">
            {shown}
          </p>
        )}
        <label className="mt-4 block text-sm font-medium text-slate-700">
          Read key
          <input
            type="password"
            autoComplete="off"
            spellCheck={false}
            value={key}
            onChange={(e) => setKey(e.target.value)}
            placeholder="shk_…"
            className="mt-1 block w-full rounded border border-slate-300 px-3 py-2 font-mono text-sm"
          />
        </label>
        <p className="mt-1 text-xs text-slate-500">Kept in this tab only (session storage) and sent to this server alone.</p>
        <button
          type="submit"
          disabled={busy}
          className="mt-4 w-full rounded bg-slate-900 px-3 py-2 text-sm font-medium text-white hover:bg-slate-700 disabled:opacity-60"
        >
          {busy ? 'Checking…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
