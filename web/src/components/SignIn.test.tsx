import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { healthyRoutes, renderApp } from '../test/harness';
import { KEY_STORAGE } from '../lib/auth';

const refused = { status: 401, body: { error: { code: 'unauthorized', message: 'unknown key' } } };

describe('sign-in', () => {
  it('checks a pasted key, stores it and picks a workspace', async () => {
    const user = userEvent.setup();
    const { server } = renderApp({ key: null, url: '/' });
    await user.type(screen.getByLabelText('Read key'), 'shk_good');
    await user.click(screen.getByRole('button', { name: 'Sign in' }));
    await waitFor(() => expect(screen.getByRole('group', { name: 'Running' })).toBeInTheDocument());
    expect(window.sessionStorage.getItem(KEY_STORAGE)).toBe('shk_good');
    expect(window.location.search).toBe('?ws=acme');
    expect(server.calls[0]!.auth).toBe('Bearer shk_good');
  });

  it('says when a pasted key is refused', async () => {
    const user = userEvent.setup();
    renderApp({ key: null, routes: healthyRoutes({ '/api/v1/workspaces': refused }) });
    await user.type(screen.getByLabelText('Read key'), 'shk_bad');
    await user.click(screen.getByRole('button', { name: 'Sign in' }));
    expect(await screen.findByRole('alert')).toHaveTextContent(/Your key was refused/);
    expect(window.sessionStorage.getItem(KEY_STORAGE)).toBeNull();
  });

  it('goes back to sign-in on a 401 anywhere', async () => {
    window.sessionStorage.setItem(KEY_STORAGE, 'shk_revoked');
    renderApp({ url: '/?ws=acme', routes: healthyRoutes({ '/api/v1/metrics/execution': refused }) });
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent(/Your key was refused/);
    expect(screen.getByRole('button', { name: 'Sign in' })).toBeInTheDocument();
    expect(screen.queryByRole('group', { name: 'Running' })).not.toBeInTheDocument();
    expect(window.sessionStorage.getItem(KEY_STORAGE)).toBeNull();
    // The view stays in the URL for after signing in again.
    expect(window.location.search).toBe('?ws=acme');
  });

  it('signs out on request', async () => {
    const user = userEvent.setup();
    renderApp({ url: '/?ws=acme' });
    await user.click(await screen.findByRole('button', { name: 'Sign out' }));
    const form = screen.getByRole('form', { name: 'Shadower execution metrics' });
    expect(within(form).queryByRole('alert')).not.toBeInTheDocument();
  });
});
