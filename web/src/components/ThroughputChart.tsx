import { Chart } from 'react-chartjs-2';
import type { ChartData, ChartOptions } from 'chart.js';
import { COLORS } from '../charts/setup';
import type { WindowParams } from '../api/client';
import { useMetrics, usePreviousThroughput } from '../api/hooks';
import { throughputChartData } from '../lib/series';
import { formatChangePct, formatCount } from '../lib/format';
import { stepLabel } from '../lib/time';
import { Empty, ErrorState, Loading, Panel } from './Panel';

export function ThroughputChart(props: { ws: string; win: WindowParams; agent: string | null }) {
  const m = useMetrics(props.ws, props.win, props.agent);
  const tp = m.data?.throughput;
  const prev = usePreviousThroughput(props.ws, m.data?.comparison, tp?.step_seconds, props.agent);

  let body;
  let actions;
  if (m.isPending) body = <Loading what="throughput" className="h-64" />;
  else if (m.isError) body = <ErrorState what="throughput" error={m.error} onRetry={() => m.refetch()} />;
  else if (!tp || tp.total === 0) body = <Empty className="h-64">No execution finished in this window.</Empty>;
  else {
    const d = throughputChartData(tp.series, tp.step_seconds, prev.data?.series);
    const data: ChartData<'bar' | 'line', (number | null)[], string> = {
      labels: d.labels,
      datasets: [
        { type: 'bar', label: 'Completed', data: d.completed, backgroundColor: COLORS.completed, stack: 'now' },
        { type: 'bar', label: 'Failed', data: d.failed, backgroundColor: COLORS.failed, stack: 'now' },
        { type: 'bar', label: 'Timed out', data: d.timedOut, backgroundColor: COLORS.timed_out, stack: 'now' },
        { type: 'bar', label: 'Cancelled', data: d.cancelled, backgroundColor: COLORS.cancelled, stack: 'now' },
        ...(d.previousTotal
          ? [
              {
                type: 'line' as const,
                label: 'Previous period (total)',
                data: d.previousTotal,
                borderColor: COLORS.previous,
                backgroundColor: COLORS.previous,
                borderWidth: 2,
                borderDash: [4, 3],
                pointRadius: 0,
                stepped: 'middle' as const,
                stack: 'previous',
                order: -1,
              },
            ]
          : []),
      ],
    };
    const options: ChartOptions<'bar' | 'line'> = {
      responsive: true,
      maintainAspectRatio: false,
      interaction: { mode: 'index', intersect: false },
      scales: {
        x: { stacked: true, grid: { display: false }, ticks: { maxRotation: 0, autoSkip: true, maxTicksLimit: 10 } },
        y: { stacked: true, beginAtZero: true, grid: { color: COLORS.grid }, ticks: { precision: 0 } },
      },
      plugins: {
        legend: { position: 'bottom', labels: { boxWidth: 12 } },
        tooltip: { callbacks: { title: (items) => d.ranges[items[0]?.dataIndex ?? 0] ?? '' } },
      },
    };
    const trend = formatChangePct(tp.trend_pct);
    actions = (
      <p className="text-xs text-slate-500">
        {formatCount(tp.total)} finished · per {stepLabel(tp.step_seconds)}
        {trend && ` · ${trend} vs previous`}
        {prev.isError && ' · previous period unavailable'}
      </p>
    );
    body = (
      <div className="relative h-64">
        <Chart
          type="bar"
          data={data}
          options={options}
          role="img"
          aria-label={`Executions finished per ${stepLabel(tp.step_seconds)} by status: ${formatCount(tp.completed)} completed, ${formatCount(tp.failed)} failed, ${formatCount(tp.timed_out)} timed out, ${formatCount(tp.cancelled)} cancelled${d.previousSum !== null ? `; previous period ${formatCount(d.previousSum)}` : ''}`}
        />
      </div>
    );
  }
  return (
    <Panel title="Throughput" actions={actions}>
      {body}
    </Panel>
  );
}
