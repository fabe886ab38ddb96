import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { ApiError } from './api/client';
import { SessionProvider, useSession } from './api/session';
import { Dashboard } from './components/Dashboard';
import { SignIn } from './components/SignIn';
import './charts/setup';

export function makeQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: {
        // A 4xx will not change by asking again; a network fault or 5xx may.
        retry: (count, err) => !(err instanceof ApiError && err.status >= 400 && err.status < 500) && count < 2,
        refetchOnWindowFocus: true,
      },
    },
  });
}

function Root() {
  const { apiKey } = useSession();
  return apiKey ? <Dashboard /> : <SignIn />;
}

export function App(props: { queryClient: QueryClient; fetch?: typeof fetch; initialKey?: string | null }) {
  return (
    <QueryClientProvider client={props.queryClient}>
      <SessionProvider fetch={props.fetch} initialKey={props.initialKey}>
        <Root />
      </SessionProvider>
    </QueryClientProvider>
  );
}
