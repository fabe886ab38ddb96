import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { healthyRoutes, renderPanel } from '../test/harness';
import { resources } from '../test/fixtures';
import { SystemLoadMonitor } from './SystemLoadMonitor';

const stat = (region: HTMLElement, name: string) => within(region).getByRole('group', { name });

function panel(routes = healthyRoutes(), agent: string | null = null) {
  return renderPanel(<SystemLoadMonitor ws="acme" win={{ timeframe: '1h' }} agent={agent} />, { routes });
}

describe('SystemLoadMonitor', () => {
  it('shows the workers, their slots, CPU and memory', async () => {
    panel();
    const region = await screen.findByRole('region', { name: 'System load' });
    await waitFor(() => expect(stat(region, 'Workers')).toHaveTextContent('2active · 1 lost'));
    expect(stat(region, 'Slots busy')).toHaveTextContent('6 / 16');
    expect(stat(region, 'Slots busy')).toHaveTextContent('37.5% utilization');
    expect(stat(region, 'CPU')).toHaveTextContent('42%');
    expect(stat(region, 'Memory')).toHaveTextContent('3 GiB');
    const meter = within(region).getByRole('meter', { name: 'Utilization of all slots' });
    expect(meter).toHaveAttribute('aria-valuenow', '38');
    expect(within(region).getByRole('img')).toHaveAccessibleName(/per 1 min.*now 37\.5% of slots busy, CPU 42%/);
  });

  it('lists every worker, lost ones flagged', async () => {
    panel();
    const table = await screen.findByRole('table');
    const rows = within(table).getAllByRole('row').slice(1);
    expect(rows.map((r) => within(r).getByRole('rowheader').textContent)).toEqual(['w-1', 'w-2', 'w-3']);
    const w1 = rows[0]!;
    expect(w1).toHaveTextContent('pool=gpu');
    expect(w1).toHaveTextContent('region=eu-west-1');
    expect(w1).toHaveTextContent('5/8 · 62.5%');
    expect(w1).toHaveTextContent('63%');
    expect(w1).toHaveTextContent('2 GiB of 8 GiB');
    expect(w1).toHaveTextContent(/1[23] s ago/);
    expect(w1).toHaveTextContent('Active');
    expect(within(w1).getByRole('meter', { name: 'Utilization of w-1' })).toHaveAttribute('aria-valuenow', '63');
    expect(rows[1]).toHaveTextContent('1 GiB');
    expect(rows[1]).not.toHaveTextContent('of');
    const lost = rows[2]!;
    expect(lost).toHaveTextContent('Lost');
    expect(lost).not.toHaveTextContent('Active');
    expect(lost).toHaveTextContent('8 min ago');
    expect(lost).toHaveTextContent('4/4 · 100.0%');
  });

  it("shows this service's host", async () => {
    panel();
    const host = await screen.findByRole('group', { name: 'Service host' });
    expect(host).toHaveTextContent('shadower-0');
    expect(host).toHaveTextContent('CPU13% of 2 cores');
    expect(host).toHaveTextContent('Memory384 MiB of 1 GiB');
    expect(host).toHaveTextContent('Process RSS128 MiB');
    expect(host).toHaveTextContent("Limits from the container's cgroup.");
  });

  it('explains how to send a heartbeat when no worker ever did', async () => {
    const r = resources({
      workers_active: 0,
      workers_lost: 0,
      capacity_slots: 0,
      busy_slots: 0,
      utilization: null,
      cpu_percent: null,
      memory_bytes: 0,
      workers: [],
      series: [resources().series[0]!],
    });
    r.host = { ...r.host, cgroup: false };
    panel(healthyRoutes({ '/api/v1/metrics/execution/resources': { body: r } }));
    expect(await screen.findByText(/No worker has sent a heartbeat yet/)).toBeInTheDocument();
    expect(screen.getByText('POST /api/v1/workers/heartbeat')).toBeInTheDocument();
    expect(screen.queryByRole('table')).not.toBeInTheDocument();
    expect(screen.queryByRole('group', { name: 'Workers' })).not.toBeInTheDocument();
    expect(screen.getByRole('group', { name: 'Service host' })).toHaveTextContent('No container limit found');
  });

  it('asks for the workspace and window, not the agent', async () => {
    const { server } = panel(healthyRoutes(), 'summarizer');
    await screen.findByRole('table');
    const call = server.calls.find((c) => c.url.pathname === '/api/v1/metrics/execution/resources')!;
    expect(Object.fromEntries(call.url.searchParams)).toEqual({ workspace_id: 'acme', timeframe: '1h' });
    expect(screen.getByText('Workers serve every agent: not filtered')).toBeInTheDocument();
  });

  it('shows loading, then an error with a retry', async () => {
    const user = userEvent.setup();
    let fail = true;
    panel(
      healthyRoutes({
        '/api/v1/metrics/execution/resources': () =>
          fail ? { status: 500, body: { error: { code: 'internal', message: 'an internal error occurred' } } } : { body: resources() },
      }),
    );
    expect(screen.getByRole('status')).toHaveTextContent('Loading workers…');
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('Could not load workers: an internal error occurred');
    fail = false;
    await user.click(within(alert).getByRole('button', { name: 'Retry' }));
    expect(await screen.findByRole('table')).toBeInTheDocument();
  });
});
