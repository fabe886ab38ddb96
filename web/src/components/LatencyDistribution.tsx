import { Bar } from 'react-chartjs-2';
import type { Chart as ChartJS, ChartData, ChartOptions, Plugin } from 'chart.js';
import { COLORS } from '../charts/setup';
import type { WindowParams } from '../api/client';
import { useMetrics } from '../api/hooks';
import { histogramData, percentileMarks, PERCENTILES, type PercentileMark } from '../lib/series';
import { formatCount, formatDuration } from '../lib/format';
import type { QueueWaitStat } from '../api/types';
import { Empty, ErrorState, Loading, Panel } from './Panel';

const MARK_COLORS: Record<PercentileMark['name'], string> = {
  p50: '#0f766e',
  p75: '#0369a1',
  p90: '#7c3aed',
  p95: '#c2410c',
  p99: '#b91c1c',
};

const LABEL_GAP = 24; // px between label centres on one row

/** Draws each percentile as a dashed vertical line with its name on top. */
const percentileLines: Plugin<'bar'> = {
  id: 'percentileLines',
  afterDatasetsDraw(chart: ChartJS<'bar'>, _args, opts: { marks?: PercentileMark[] }) {
    const marks = opts.marks ?? [];
    const x = chart.scales.x;
    const { top, bottom } = chart.chartArea;
    if (!x) return;
    const ctx = chart.ctx;
    ctx.save();
    ctx.font = '600 10px ui-sans-serif, system-ui, sans-serif';
    ctx.textAlign = 'center';
    // Each label goes on the first of three rows where it does not touch
    // the label before it.
    const lastX = [-Infinity, -Infinity, -Infinity];
    for (const m of marks) {
      if (m.position === null) continue;
      const px = x.getPixelForValue(m.position);
      if (!Number.isFinite(px)) continue;
      let row = lastX.findIndex((lx) => px - lx >= LABEL_GAP);
      if (row < 0) row = lastX.indexOf(Math.min(...lastX));
      lastX[row] = px;
      ctx.strokeStyle = MARK_COLORS[m.name];
      ctx.lineWidth = 1.5;
      ctx.setLineDash([4, 3]);
      ctx.beginPath();
      ctx.moveTo(px, top - 20 + row * 10);
      ctx.lineTo(px, bottom);
      ctx.stroke();
      ctx.setLineDash([]);
      ctx.fillStyle = MARK_COLORS[m.name];
      ctx.fillText(m.name, px, top - 22 + row * 10);
    }
    ctx.restore();
  },
};

function QueueWait(props: { q: QueueWaitStat }) {
  const rows: [string, number | null][] = [
    ['p50', props.q.p50_ms],
    ['p75', props.q.p75_ms],
    ['p90', props.q.p90_ms],
    ['p95', props.q.p95_ms],
    ['p99', props.q.p99_ms],
    ['max', props.q.max_ms],
  ];
  return (
    <div className="min-w-0" role="group" aria-label="Queue wait percentiles">
      <h3 className="text-xs font-semibold text-slate-600 uppercase">Queue wait</h3>
      {props.q.count === 0 ? (
        <p className="mt-2 text-sm text-slate-500">No queue wait measured (no execution with both queued and started events).</p>
      ) : (
        <>
          <p className="text-xs text-slate-500">{formatCount(props.q.count)} started after queueing</p>
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

export function LatencyDistribution(props: { ws: string; win: WindowParams; agent: string | null }) {
  const m = useMetrics(props.ws, props.win, props.agent);
  const lat = m.data?.latency;

  let body;
  if (m.isPending) body = <Loading what="latency" className="h-64" />;
  else if (m.isError) body = <ErrorState what="latency" error={m.error} onRetry={() => m.refetch()} />;
  else if (!lat) body = <Empty className="h-64">No latency data.</Empty>;
  else {
    const marks = percentileMarks(lat);
    let chart;
    if (lat.count === 0 || lat.distribution.length === 0) {
      chart = <Empty className="h-56">No execution with a run time finished in this window.</Empty>;
    } else {
      const h = histogramData(lat.distribution);
      const data: ChartData<'bar', number[], string> = {
        labels: h.labels,
        datasets: [
          {
            label: 'Executions',
            data: h.counts,
            backgroundColor: COLORS.total,
            categoryPercentage: 1,
            barPercentage: 0.94,
          },
        ],
      };
      const options: ChartOptions<'bar'> = {
        responsive: true,
        maintainAspectRatio: false,
        layout: { padding: { top: 34 } },
        scales: {
          x: { grid: { display: false }, ticks: { maxRotation: 0, autoSkip: true }, title: { display: true, text: 'run time (log-spaced buckets)' } },
          y: { beginAtZero: true, grid: { color: COLORS.grid }, ticks: { precision: 0 } },
        },
        plugins: {
          legend: { display: false },
          tooltip: { callbacks: { title: (items) => h.ranges[items[0]?.dataIndex ?? 0] ?? '' } },
          ...({ percentileLines: { marks } } as object),
        },
      };
      chart = (
        <div className="relative h-56">
          <Bar
            data={data}
            options={options}
            plugins={[percentileLines]}
            role="img"
            aria-label={`Run time distribution of ${formatCount(lat.count)} executions; ${marks.map((k) => `${k.name} ${formatDuration(k.valueMs)}`).join(', ')}`}
          />
        </div>
      );
    }
    body = (
      <div className="grid gap-4 md:grid-cols-[minmax(0,1fr)_13rem]">
        <div className="min-w-0">
          {chart}
          <ul aria-label="Run time percentiles" className="mt-2 flex flex-wrap gap-x-4 gap-y-1 text-xs">
            {PERCENTILES.map((name) => (
              <li key={name} className="flex items-center gap-1">
                <span className="inline-block h-0.5 w-4 border-t-2 border-dashed" style={{ borderColor: MARK_COLORS[name] }} aria-hidden />
                <span className="font-semibold" style={{ color: MARK_COLORS[name] }}>{name}</span>
                <span className="tabular-nums">{formatDuration(lat[`${name}_ms`])}</span>
              </li>
            ))}
            <li className="text-slate-500">
              mean {formatDuration(lat.mean_ms)} · max {formatDuration(lat.max_ms)}
            </li>
          </ul>
        </div>
        <QueueWait q={lat.queue_wait} />
      </div>
    );
  }
  return <Panel title="Latency">{body}</Panel>;
}
