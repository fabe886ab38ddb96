import { Chart } from 'react-chartjs-2';
import type { ChartData, ChartOptions } from 'chart.js';
import { COLORS } from '../charts/setup';
import { findingBandsPlugin, type FindingBandsOptions } from '../charts/findingBands';
import type { WindowParams } from '../api/client';
import { useMetrics, usePatterns } from '../api/hooks';
import { findingBands } from '../lib/patterns';
import { timelineData } from '../lib/series';
import { formatCount, formatRatePct } from '../lib/format';
import { stepLabel } from '../lib/time';
import { Empty, ErrorState, Loading, Panel } from './Panel';

export function ExecutionTimeline(props: { ws: string; win: WindowParams; agent: string | null }) {
  const m = useMetrics(props.ws, props.win, props.agent);
  const tp = m.data?.throughput;
  const patterns = usePatterns(props.ws, props.win, props.agent);

  let body;
  if (m.isPending) body = <Loading what="the timeline" className="h-56" />;
  else if (m.isError) body = <ErrorState what="the timeline" error={m.error} onRetry={() => m.refetch()} />;
  else if (!tp || tp.total === 0) body = <Empty className="h-56">No execution finished in this window.</Empty>;
  else {
    const d = timelineData(tp.series, tp.step_seconds);
    const bands = findingBands(patterns.data?.anomalies ?? [], tp.series, tp.step_seconds);
    const data: ChartData<'bar' | 'line', (number | null)[], string> = {
      labels: d.labels,
      datasets: [
        {
          type: 'line',
          label: 'Success rate (%)',
          data: d.successPct,
          yAxisID: 'rate',
          borderColor: COLORS.success,
          backgroundColor: COLORS.success,
          borderWidth: 2,
          // Buckets with nothing finished leave gaps: a point keeps a lone bucket visible.
          pointRadius: 1.5,
          pointHoverRadius: 3,
          spanGaps: false,
          tension: 0.2,
          order: 0,
        },
        {
          type: 'bar',
          label: 'Executions finished',
          data: d.totals,
          yAxisID: 'count',
          backgroundColor: 'rgba(14, 165, 233, 0.55)',
          order: 1,
        },
      ],
    };
    const options: ChartOptions<'bar' | 'line'> = {
      responsive: true,
      maintainAspectRatio: false,
      interaction: { mode: 'index', intersect: false },
      scales: {
        x: { grid: { display: false }, ticks: { maxRotation: 0, autoSkip: true, maxTicksLimit: 10 } },
        count: {
          type: 'linear',
          position: 'left',
          beginAtZero: true,
          grid: { color: COLORS.grid },
          ticks: { precision: 0 },
          title: { display: true, text: 'executions' },
        },
        rate: {
          type: 'linear',
          position: 'right',
          min: 0,
          max: 100,
          grid: { drawOnChartArea: false },
          ticks: { callback: (v) => `${v}%` },
          title: { display: true, text: 'success rate' },
        },
      },
      plugins: {
        legend: { position: 'bottom', labels: { boxWidth: 12 } },
        tooltip: {
          callbacks: {
            title: (items) => d.ranges[items[0]?.dataIndex ?? 0] ?? '',
            label: (item) =>
              item.dataset.yAxisID === 'rate'
                ? `Success rate: ${item.raw === null ? '—' : `${(item.raw as number).toFixed(1)}%`}`
                : `Executions: ${formatCount(item.raw as number)}`,
          },
        },
        ...({ findingBands: { bands } satisfies FindingBandsOptions } as object),
      },
    };
    body = (
      <div className="relative h-56">
        <Chart
          type="bar"
          data={data}
          options={options}
          plugins={[findingBandsPlugin]}
          role="img"
          aria-label={`Executions finished per ${stepLabel(tp.step_seconds)} and success rate; ${formatCount(tp.total)} in all, ${formatRatePct(m.data?.performance.success_rate)} succeeded${bands.length ? `; ${bands.length} ${bands.length === 1 ? 'anomaly' : 'anomalies'} shaded` : ''}`}
        />
      </div>
    );
  }
  return <Panel title="Executions and success rate">{body}</Panel>;
}
