import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App, makeQueryClient } from './App';
import { consumeFragment } from './lib/auth';
import './index.css';

// A key in the address (#key=...&workspace=...) is taken and removed from it
// before anything renders.
consumeFragment();

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App queryClient={makeQueryClient()} />
  </StrictMode>,
);
