// The signed-in key, the API client built on it, and signing out when the
// server refuses the key.
import { createContext, useCallback, useContext, useMemo, useState, type ReactNode } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { ApiClient } from './client';
import { storedKey, storeKey } from '../lib/auth';

export const REFUSED_MESSAGE =
  'Your key was refused by the server: it may be mistyped, revoked, or for another server. Paste a valid read key to sign in again.';

interface Session {
  apiKey: string | null;
  client: ApiClient | null;
  /** Why the person is at the sign-in page, if they were sent there. */
  notice: string | null;
  signIn: (key: string) => void;
  signOut: (notice?: string) => void;
  /** A client for a key not yet signed in with (to check it first). */
  makeClient: (key: string) => ApiClient;
}

const SessionContext = createContext<Session | null>(null);

export function SessionProvider(props: {
  children: ReactNode;
  initialKey?: string | null;
  fetch?: typeof fetch;
  baseUrl?: string;
}) {
  const queryClient = useQueryClient();
  const [apiKey, setApiKey] = useState<string | null>(() =>
    props.initialKey !== undefined ? props.initialKey : storedKey(),
  );
  const [notice, setNotice] = useState<string | null>(null);

  const signOut = useCallback(
    (why?: string) => {
      storeKey(null);
      setApiKey(null);
      setNotice(why ?? null);
      queryClient.cancelQueries();
      queryClient.clear();
    },
    [queryClient],
  );

  const signIn = useCallback(
    (key: string) => {
      queryClient.clear();
      storeKey(key);
      setNotice(null);
      setApiKey(key);
    },
    [queryClient],
  );

  const client = useMemo(
    () =>
      apiKey
        ? new ApiClient({
            apiKey,
            fetch: props.fetch,
            baseUrl: props.baseUrl,
            onUnauthorized: () => signOut(REFUSED_MESSAGE),
          })
        : null,
    [apiKey, props.fetch, props.baseUrl, signOut],
  );

  const makeClient = useCallback(
    (key: string) => new ApiClient({ apiKey: key, fetch: props.fetch, baseUrl: props.baseUrl }),
    [props.fetch, props.baseUrl],
  );

  const value = useMemo(
    () => ({ apiKey, client, notice, signIn, signOut, makeClient }),
    [apiKey, client, notice, signIn, signOut, makeClient],
  );
  return <SessionContext.Provider value={value}>{props.children}</SessionContext.Provider>;
}

export function useSession(): Session {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside SessionProvider');
  return s;
}

/** The API client of the signed-in session. */
export function useApi(): ApiClient {
  const { client } = useSession();
  if (!client) throw new Error('useApi without a signed-in key');
  return client;
}
