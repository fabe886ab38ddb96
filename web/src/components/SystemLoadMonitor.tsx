import { Chart } from 'react-chartjs-2';
import type { ChartData, ChartOptions } from 'chart.js';
import { COLORS } from '../charts/setup';
import type { WindowParams } from '../api/client';
import { useResources } from '../api/hooks';
import type { HostInfo, Resources, WorkerInfo } from '../api/types';
import { formatAgo, formatBytes, formatCount, formatPercent, formatRate, formatRatePct, formatTimestamp } from '../lib/format';
import { anyHeartbeat, barWidth, labelList, loadChartData, memoryText } from '../lib/resources';
import { loneDots } from '../lib/series';
import { elapsedSince, stepLabel } from '../lib/time';
import { useNow } from '../lib/useNow';
import { Empty, ErrorState, Loading, Panel, Stat } from './Panel';

function utilizationTone(u: number | null): string {
  if (u === null) return 'bg-slate-300';
  if (u >= 0.9) return 'bg-red-500';
  if (u >= 0.75) return 'bg-amber-500';
  return 'bg-sky-500';
}

/** Busy over capacity slots as a meter. */
function UtilizationBar(props: { value: number | null; label: string; className?: string }) {
  const w = barWidth(props.value);
  return (
    <div
      role="meter"
      aria-label={props.label}
      aria-valuemin={0}
      aria-valuemax={100}
      aria-valuenow={props.value === null ? undefined : Math.round(w)}
      aria-valuetext={formatRatePct(props.value)}
      className={`h-2 overflow-hidden rounded bg-slate-100 ${props.className ?? ''}`}
    >
      <div className={`h-full rounded ${utilizationTone(props.value)}`} style={{ width: `${w}%` }} />
    </div>
  );
}

/** "12 s ago", ticking: the server's age at its `at`, plus the time passed here since. */
function Ago(props: { iso: string; serverAt: string; receivedAt: number }) {
  const now = useNow(1000);
  return <>{formatAgo(elapsedSince(props.iso, props.serverAt, props.receivedAt, now))}</>;
}

function HostBox(props: { host: HostInfo }) {
  const h = props.host;
  const cpu =
    h.cpu_percent === null
      ? '—'
      : `${formatPercent(h.cpu_percent)}${h.cpu_limit_cores > 0 ? ` of ${formatRate(h.cpu_limit_cores)} core${h.cpu_limit_cores === 1 ? '' : 's'}` : ''}`;
  return (
    <div role="group" aria-label="Service host" className="min-w-0 rounded-md border border-slate-200 bg-slate-50 p-3 text-sm">
      <h3 className="text-xs font-semibold text-slate-600 uppercase">This service's host</h3>
      <p className="truncate font-mono text-xs text-slate-600" title={h.hostname}>
        {h.hostname || '—'}
      </p>
      <dl className="mt-2 space-y-1">
        <div className="flex justify-between gap-2">
          <dt className="text-slate-500">CPU</dt>
          <dd className="tabular-nums">{cpu}</dd>
        </div>
        <div className="flex justify-between gap-2">
          <dt className="text-slate-500">Memory</dt>
          <dd className="tabular-nums">{memoryText(h.memory_bytes, h.memory_limit_bytes)}</dd>
        </div>
        <div className="flex justify-between gap-2">
          <dt className="text-slate-500">Process RSS</dt>
          <dd className="tabular-nums">{formatBytes(h.process_rss_bytes)}</dd>
        </div>
      </dl>
      {h.memory_limit_bytes !== null && h.memory_bytes !== null && (
        <UtilizationBar value={h.memory_bytes / h.memory_limit_bytes} label="Host memory used" className="mt-2" />
      )}
      <p className="mt-2 text-xs text-slate-500">
        {h.cgroup ? "Limits from the container's cgroup." : 'No container limit found: limits are the machine’s.'} Sampled{' '}
        {formatTimestamp(h.sampled_at)}.
      </p>
    </div>
  );
}

function LoadChart(props: { res: Resources }) {
  const r = props.res;
  const d = loadChartData(r.series, r.step_seconds);
  if (!d.sampled) return <Empty className="h-44">No heartbeat arrived in this window.</Empty>;
  const data: ChartData<'line', (number | null)[], string> = {
    labels: d.labels,
    datasets: [
      {
        label: 'Utilization (%)',
        data: d.utilizationPct,
        borderColor: COLORS.utilization,
        backgroundColor: COLORS.utilization,
        borderWidth: 2,
        pointRadius: loneDots(d.utilizationPct),
        pointHoverRadius: 3,
        spanGaps: false,
      },
      {
        label: 'CPU (%)',
        data: d.cpuPct,
        borderColor: COLORS.cpu,
        backgroundColor: COLORS.cpu,
        borderWidth: 1.5,
        borderDash: [4, 3],
        pointRadius: loneDots(d.cpuPct),
        pointHoverRadius: 3,
        spanGaps: false,
      },
    ],
  };
  const options: ChartOptions<'line'> = {
    responsive: true,
    maintainAspectRatio: false,
    interaction: { mode: 'index', intersect: false },
    scales: {
      x: { grid: { display: false }, ticks: { maxRotation: 0, autoSkip: true, maxTicksLimit: 8 } },
      y: { min: 0, max: 100, grid: { color: COLORS.grid }, ticks: { callback: (v) => `${v}%` } },
    },
    plugins: {
      legend: { position: 'bottom', labels: { boxWidth: 12 } },
      tooltip: {
        filter: (item) => item.raw !== null,
        callbacks: { title: (items) => d.ranges[items[0]?.dataIndex ?? 0] ?? '' },
      },
    },
  };
  return (
    <div className="relative h-44">
      <Chart
        type="line"
        data={data}
        options={options}
        role="img"
        aria-label={`Worker utilization and CPU per ${stepLabel(r.step_seconds)}, mean of the heartbeats; now ${formatRatePct(r.utilization)} of slots busy, CPU ${formatPercent(r.cpu_percent)}`}
      />
    </div>
  );
}

function WorkerTable(props: { workers: WorkerInfo[]; at: string; receivedAt: number }) {
  return (
    <div className="max-h-80 overflow-auto">
      <table className="w-full text-left text-sm">
        <caption className="sr-only">Workers, active first, from their latest heartbeat</caption>
        <thead className="sticky top-0 bg-white text-xs text-slate-500">
          <tr>
            <th scope="col" className="py-1 pr-2 font-medium">Worker</th>
            <th scope="col" className="py-1 pr-2 font-medium">Labels</th>
            <th scope="col" className="w-40 py-1 pr-2 font-medium">Utilization</th>
            <th scope="col" className="py-1 pr-2 text-right font-medium">CPU</th>
            <th scope="col" className="py-1 pr-2 text-right font-medium">Memory</th>
            <th scope="col" className="py-1 pr-2 text-right font-medium">Last seen</th>
            <th scope="col" className="py-1 pr-2 text-right font-medium">Running</th>
            <th scope="col" className="py-1 font-medium">State</th>
          </tr>
        </thead>
        <tbody>
          {props.workers.map((w) => (
            <tr key={w.worker_id} className={`border-t border-slate-100 ${w.lost ? 'bg-red-50 text-red-900' : ''}`}>
              <th scope="row" className="max-w-40 truncate py-1.5 pr-2 font-mono text-xs font-normal" title={w.worker_id}>
                {w.worker_id}
              </th>
              <td className="max-w-56 py-1.5 pr-2">
                <span className="flex flex-wrap gap-1">
                  {labelList(w.labels).map((l) => (
                    <span key={l} className="max-w-48 truncate rounded bg-slate-100 px-1 font-mono text-[11px] text-slate-600" title={l}>
                      {l}
                    </span>
                  ))}
                </span>
              </td>
              <td className="py-1.5 pr-2">
                <div className="flex items-center gap-2">
                  <UtilizationBar value={w.utilization} label={`Utilization of ${w.worker_id}`} className="w-16 shrink-0" />
                  <span className="text-xs whitespace-nowrap tabular-nums">
                    {formatCount(w.busy_slots)}/{formatCount(w.capacity_slots)} · {formatRatePct(w.utilization)}
                  </span>
                </div>
              </td>
              <td className="py-1.5 pr-2 text-right tabular-nums">{formatPercent(w.cpu_percent)}</td>
              <td className="py-1.5 pr-2 text-right whitespace-nowrap tabular-nums">{memoryText(w.memory_bytes, w.memory_limit_bytes)}</td>
              <td className="py-1.5 pr-2 text-right whitespace-nowrap tabular-nums" title={formatTimestamp(w.last_seen)}>
                <Ago iso={w.last_seen} serverAt={props.at} receivedAt={props.receivedAt} />
              </td>
              <td className="py-1.5 pr-2 text-right tabular-nums">{formatCount(w.running)}</td>
              <td className="py-1.5">
                {w.lost ? (
                  <span
                    className="rounded bg-red-600 px-1.5 py-0.5 text-xs font-semibold text-white"
                    title={`Silent for more than three intervals of ${w.interval_seconds} s`}
                  >
                    Lost
                  </span>
                ) : (
                  <span className="rounded bg-emerald-100 px-1.5 py-0.5 text-xs text-emerald-800">Active</span>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function NoHeartbeat() {
  return (
    <Empty className="px-4 py-6">
      No worker has sent a heartbeat yet. Workers report their capacity and load with{' '}
      <code className="font-mono text-slate-700">POST /api/v1/workers/heartbeat</code> (an ingest key): <code className="font-mono">workspace_id</code>,{' '}
      <code className="font-mono">worker_id</code>, <code className="font-mono">capacity_slots</code> and <code className="font-mono">busy_slots</code>, optionally{' '}
      <code className="font-mono">cpu_percent</code>, <code className="font-mono">memory_bytes</code>, <code className="font-mono">memory_limit_bytes</code>,{' '}
      <code className="font-mono">labels</code> and <code className="font-mono">interval_seconds</code> (15 s by default; a worker silent for three intervals is
      shown as lost).
    </Empty>
  );
}

export function SystemLoadMonitor(props: { ws: string; win: WindowParams; agent: string | null }) {
  const q = useResources(props.ws, props.win);
  const r = q.data;

  let body;
  if (q.isPending) body = <Loading what="workers" className="h-44" />;
  else if (q.isError) body = <ErrorState what="workers" error={q.error} onRetry={() => q.refetch()} />;
  else if (r) {
    const reported = anyHeartbeat(r);
    body = (
      <div className="space-y-4">
        <div className="grid gap-4 lg:grid-cols-[minmax(0,1fr)_17rem]">
          <div className="min-w-0 space-y-3">
            {reported ? (
              <>
                <div className="grid grid-cols-2 gap-3 sm:grid-cols-4">
                  <Stat
                    name="Workers"
                    value={formatCount(r.workers_active)}
                    sub={
                      <>
                        active · <span className={r.workers_lost > 0 ? 'font-medium text-red-700' : ''}>{formatCount(r.workers_lost)} lost</span>
                      </>
                    }
                  />
                  <Stat
                    name="Slots busy"
                    value={`${formatCount(r.busy_slots)} / ${formatCount(r.capacity_slots)}`}
                    sub={`${formatRatePct(r.utilization)} utilization`}
                  />
                  <Stat name="CPU" value={formatPercent(r.cpu_percent)} sub="mean over active workers" />
                  <Stat name="Memory" value={formatBytes(r.memory_bytes)} sub="sum over active workers" />
                </div>
                <UtilizationBar value={r.utilization} label="Utilization of all slots" />
                <LoadChart res={r} />
              </>
            ) : (
              <NoHeartbeat />
            )}
          </div>
          <HostBox host={r.host} />
        </div>
        {reported &&
          (r.workers.length > 0 ? (
            <WorkerTable workers={r.workers} at={r.at} receivedAt={q.dataUpdatedAt} />
          ) : (
            <Empty>No worker heard from in the last 24 hours.</Empty>
          ))}
      </div>
    );
  }
  return (
    <Panel
      title="System load"
      actions={props.agent ? <p className="text-xs text-slate-500">Workers serve every agent: not filtered</p> : undefined}
    >
      {body}
    </Panel>
  );
}
