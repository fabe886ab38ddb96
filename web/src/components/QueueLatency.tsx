import { Chart } from 'react-chartjs-2';
import type { ChartData, ChartOptions } from 'chart.js';
import { COLORS } from '../charts/setup';
import type { WindowParams } from '../api/client';
import { useQueue } from '../api/hooks';
import type { AgentQueue, QueueMetrics, QueueWaitStat } from '../api/types';
import { formatCount, formatDuration, formatRate } from '../lib/format';
import { backlogChartData, drainEstimate, queueWindowIsEmpty, type DrainState } from '../lib/queue';
import { loneDots } from '../lib/series';
import { stepLabel } from '../lib/time';
import { Empty, ErrorState, Loading, Panel, Stat } from './Panel';

const drainLook: Record<DrainState, string> = {
  empty: 'border-emerald-200 bg-emerald-50 text-emerald-900',
  draining: 'border-sky-200 bg-sky-50 text-sky-900',
  stuck: 'border-red-200 bg-red-50 text-red-900',
};

function BacklogChart(props: { q: QueueMetrics }) {
  const q = props.q;
  const d = backlogChartData(q.series, q.step_seconds);
  if (d.peak === null) return <Empty className="h-48">No backlog sample in this window (sampled every 15 s).</Empty>;
  const data: ChartData<'line', (number | null)[], string> = {
    labels: d.labels,
    datasets: [
      {
        label: 'Queued (peak)',
        data: d.max,
        borderColor: COLORS.queue,
        backgroundColor: COLORS.queue,
        borderWidth: 2,
        pointRadius: loneDots(d.max),
        pointHoverRadius: 3,
        stepped: 'middle',
        spanGaps: false,
      },
      {
        label: 'Queued (mean)',
        data: d.mean,
        borderColor: COLORS.queueMean,
        backgroundColor: COLORS.queueMean,
        borderWidth: 1.5,
        borderDash: [4, 3],
        pointRadius: loneDots(d.mean),
        pointHoverRadius: 3,
        stepped: 'middle',
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
      y: { beginAtZero: true, grid: { color: COLORS.grid }, ticks: { precision: 0 }, title: { display: true, text: 'queued' } },
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
    <div className="relative h-48">
      <Chart
        type="line"
        data={data}
        options={options}
        role="img"
        aria-label={`Executions queued per ${stepLabel(q.step_seconds)}, peak and mean of the samples; highest ${formatCount(d.peak)}`}
      />
    </div>
  );
}

function WaitPercentiles(props: { wait: QueueWaitStat }) {
  const w = props.wait;
  const rows: [string, number | null][] = [
    ['p50', w.p50_ms],
    ['p75', w.p75_ms],
    ['p90', w.p90_ms],
    ['p95', w.p95_ms],
    ['p99', w.p99_ms],
    ['max', w.max_ms],
  ];
  return (
    <div role="group" aria-label="Queue wait in this window" className="min-w-0">
      <h3 className="text-xs font-semibold text-slate-600 uppercase">Queue wait in this window</h3>
      {w.count === 0 ? (
        <p className="mt-2 text-sm text-slate-500">No execution started after queueing in this window.</p>
      ) : (
        <>
          <p className="text-xs text-slate-500">{formatCount(w.count)} started after queueing</p>
          <dl className="mt-2 grid grid-cols-2 gap-x-3 gap-y-1 text-sm">
            {rows.map(([k, v]) => (
              <div key={k} className="flex justify-between gap-2 border-b border-slate-100 py-0.5">
                <dt className="text-slate-500">{k}</dt>
                <dd className="tabular-nums">{formatDuration(v)}</dd>
              </div>
            ))}
          </dl>
        </>
      )}
    </div>
  );
}

function AgentTable(props: { rows: AgentQueue[] }) {
  return (
    <div className="max-h-72 overflow-auto">
      <table className="w-full text-left text-sm">
        <caption className="sr-only">Queue wait by agent, most queued first</caption>
        <thead className="sticky top-0 bg-white text-xs text-slate-500">
          <tr>
            <th scope="col" className="py-1 pr-2 font-medium">Agent</th>
            <th scope="col" className="py-1 pl-2 text-right font-medium">Queued now</th>
            <th scope="col" className="py-1 pl-2 text-right font-medium">Oldest wait</th>
            <th scope="col" className="py-1 pl-2 text-right font-medium">Waited</th>
            <th scope="col" className="py-1 pl-2 text-right font-medium">p50</th>
            <th scope="col" className="py-1 pl-2 text-right font-medium">p95</th>
            <th scope="col" className="py-1 pl-2 text-right font-medium">p99</th>
          </tr>
        </thead>
        <tbody>
          {props.rows.map((a) => (
            <tr key={a.agent_id} className="border-t border-slate-100">
              <th scope="row" className="max-w-48 truncate py-1.5 pr-2 font-normal" title={a.agent_id}>
                {a.agent_id}
              </th>
              <td className="py-1.5 pl-2 text-right tabular-nums">{formatCount(a.queued)}</td>
              <td className="py-1.5 pl-2 text-right tabular-nums">{formatDuration(a.oldest_wait_ms)}</td>
              <td className="py-1.5 pl-2 text-right tabular-nums">{formatCount(a.count)}</td>
              <td className="py-1.5 pl-2 text-right tabular-nums">{formatDuration(a.p50_ms)}</td>
              <td className="py-1.5 pl-2 text-right tabular-nums">{formatDuration(a.p95_ms)}</td>
              <td className="py-1.5 pl-2 text-right tabular-nums">{formatDuration(a.p99_ms)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function QueueLatency(props: { ws: string; win: WindowParams; agent: string | null }) {
  const q = useQueue(props.ws, props.win, props.agent);
  const data = q.data;

  let body;
  if (q.isPending) body = <Loading what="queue wait" className="h-48" />;
  else if (q.isError) body = <ErrorState what="queue wait" error={q.error} onRetry={() => q.refetch()} />;
  else if (data) {
    const drain = drainEstimate(data);
    body = (
      <div className="space-y-4">
        <div role="group" aria-label="Drain estimate" data-drain={drain.state} className={`rounded-md border px-3 py-2 ${drainLook[drain.state]}`}>
          <p className="font-semibold">{drain.text}</p>
          <p className="text-xs opacity-80">
            {formatCount(data.queued)} queued now · arriving {formatRate(data.arrival_rate_per_minute)}/min · finishing{' '}
            {formatRate(data.completion_rate_per_minute)}/min (last 5 minutes)
          </p>
        </div>
        <div className="grid grid-cols-2 gap-3 sm:grid-cols-4">
          <Stat name="Queued now" value={formatCount(data.queued)} />
          <Stat name="Oldest wait" value={formatDuration(data.oldest_wait_ms)} />
          <Stat name="Arrivals" value={`${formatRate(data.arrival_rate_per_minute)}/min`} sub="started, last 5 min" />
          <Stat name="Completions" value={`${formatRate(data.completion_rate_per_minute)}/min`} sub="finished, last 5 min" />
        </div>
        {queueWindowIsEmpty(data) ? (
          <Empty>Nothing waited in the queue in this window.</Empty>
        ) : (
          <>
            <div className="grid gap-4 md:grid-cols-[minmax(0,1fr)_13rem]">
              <BacklogChart q={data} />
              <WaitPercentiles wait={data.wait} />
            </div>
            {data.by_agent.length > 0 && <AgentTable rows={data.by_agent} />}
          </>
        )}
      </div>
    );
  }
  return <Panel title="Queue backlog and wait">{body}</Panel>;
}
