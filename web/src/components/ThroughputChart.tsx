import { Chart } from 'react-chartjs-2';
import type { ChartData, ChartDataset, ChartOptions } from 'chart.js';
import { COLORS } from '../charts/setup';
import { findingBandsPlugin, type FindingBandsOptions } from '../charts/findingBands';
import type { WindowParams } from '../api/client';
import { useForecast, useMetrics, usePatterns, usePreviousThroughput } from '../api/hooks';
import type { Forecast } from '../api/types';
import { throughputChartData } from '../lib/series';
import { capacityInView, forecastChartData, forecastLabel, forecastTotal, showsForecast } from '../lib/forecast';
import { findingBands } from '../lib/patterns';
import { formatChangePct, formatCount, formatMinute, formatRate } from '../lib/format';
import { stepLabel } from '../lib/time';
import { Empty, ErrorState, Loading, Panel, errorMessage } from './Panel';

const LOWER = 'Forecast 90% interval (lower)';
const BAND = 'Forecast 90% interval';
const CAPACITY = 'Capacity';

type Dataset = ChartDataset<'bar' | 'line', (number | null)[]>;

/** What the chart says about the forecast, under it: its total, model, capacity, or why there is none. */
function ForecastNote(props: { forecast: Forecast | undefined; error: unknown; drawn: boolean; capacityDrawn: boolean }) {
  const f = props.forecast;
  if (props.error) {
    return <p className="text-xs text-slate-500">Forecast could not be loaded: {errorMessage(props.error)}</p>;
  }
  if (!f) return null;
  if (!f.available) {
    return <p className="text-xs text-slate-500">Forecast unavailable: {f.reason}</p>;
  }
  const w = f.capacity_warning;
  return (
    <>
      {w && (
        <p
          data-testid="capacity-warning"
          className="rounded border border-red-300 bg-red-50 px-2 py-1 text-sm font-medium text-red-800"
        >
          <span aria-hidden>⚠ </span>
          Forecast exceeds capacity from {formatMinute(w.t)}: {formatRate(w.expected)} expected against{' '}
          {formatRate(w.capacity_per_hour)} per hour the active workers can finish.
        </p>
      )}
      <p className="text-xs text-slate-500">
        Forecast, per hour, next {f.series.length} h: {formatCount(Math.round(forecastTotal(f.series)))} expected in all
        {props.drawn ? ' (dashed, with its 90% interval shaded)' : ''} · model {f.model.replace(/_/g, ' ')} from {formatCount(f.history_hours)} h of
        history
        {f.backtest_mape_pct !== null && ` · ${formatRate(f.backtest_mape_pct)}% mean error on the last full day`}
        {f.capacity_per_hour === null
          ? ' · no capacity line (no worker heartbeats)'
          : ` · capacity ${formatRate(f.capacity_per_hour)} per hour${props.drawn && !props.capacityDrawn ? ' (far above the chart, not drawn)' : ''}`}
      </p>
    </>
  );
}

export function ThroughputChart(props: { ws: string; win: WindowParams; agent: string | null }) {
  const m = useMetrics(props.ws, props.win, props.agent);
  const tp = m.data?.throughput;
  const prev = usePreviousThroughput(props.ws, m.data?.comparison, tp?.step_seconds, props.agent);
  const patterns = usePatterns(props.ws, props.win, props.agent);
  const withForecast = showsForecast(props.win);
  const fc = useForecast(props.ws, props.agent, withForecast);

  let body;
  let actions;
  let notes;
  if (m.isPending) body = <Loading what="throughput" className="h-64" />;
  else if (m.isError) body = <ErrorState what="throughput" error={m.error} onRetry={() => m.refetch()} />;
  else if (!tp || tp.total === 0) body = <Empty className="h-64">No execution finished in this window.</Empty>;
  else {
    const d = throughputChartData(tp.series, tp.step_seconds, prev.data?.series);
    const bands = findingBands(patterns.data?.anomalies ?? [], tp.series, tp.step_seconds);
    const lastT = tp.series.at(-1)?.t;
    const f = withForecast && fc.data?.available && lastT ? forecastChartData(fc.data, lastT, tp.step_seconds) : null;
    const extra = f?.labels.length ?? 0;
    const pad = (a: (number | null)[]) => (extra ? [...a, ...new Array<null>(extra).fill(null)] : a);
    const after = (a: (number | null)[]) => [...new Array<null>(d.labels.length).fill(null), ...a];
    const ranges = [...d.ranges, ...(f?.ranges ?? [])];
    const fcLabel = forecastLabel(tp.step_seconds);
    const top = Math.max(0, ...tp.series.map((p) => p.total), ...(f?.upper ?? []).map((v) => v ?? 0));
    const capacityLine = f ? (f.capacity.find((v) => v !== null) ?? null) : null;
    const hasCapacity = capacityInView(capacityLine, top);

    const datasets: Dataset[] = [
      { type: 'bar', label: 'Completed', data: pad(d.completed), backgroundColor: COLORS.completed, stack: 'now' },
      { type: 'bar', label: 'Failed', data: pad(d.failed), backgroundColor: COLORS.failed, stack: 'now' },
      { type: 'bar', label: 'Timed out', data: pad(d.timedOut), backgroundColor: COLORS.timed_out, stack: 'now' },
      { type: 'bar', label: 'Cancelled', data: pad(d.cancelled), backgroundColor: COLORS.cancelled, stack: 'now' },
    ];
    if (d.previousTotal) {
      datasets.push({
        type: 'line',
        label: 'Previous period (total)',
        data: pad(d.previousTotal),
        borderColor: COLORS.previous,
        backgroundColor: COLORS.previous,
        borderWidth: 2,
        borderDash: [4, 3],
        pointRadius: 0,
        stepped: 'middle',
        stack: 'previous',
        order: -1,
      });
    }
    if (f) {
      // Each line its own stack, so the stacked axis does not add them up.
      datasets.push(
        { type: 'line', label: LOWER, data: after(f.lower), borderWidth: 0, pointRadius: 0, stepped: 'middle', fill: false, stack: 'forecast-lower', order: -2 },
        {
          type: 'line',
          label: BAND,
          data: after(f.upper),
          borderWidth: 0,
          pointRadius: 0,
          stepped: 'middle',
          fill: '-1',
          backgroundColor: COLORS.forecastBand,
          stack: 'forecast-upper',
          order: -2,
        },
        {
          type: 'line',
          label: fcLabel,
          data: after(f.expected),
          borderColor: COLORS.forecast,
          backgroundColor: COLORS.forecast,
          borderWidth: 2,
          borderDash: [6, 3],
          pointRadius: 0,
          stepped: 'middle',
          stack: 'forecast',
          order: -3,
        },
      );
      if (hasCapacity) {
        datasets.push({
          type: 'line',
          label: CAPACITY,
          data: after(f.capacity),
          borderColor: COLORS.capacity,
          backgroundColor: COLORS.capacity,
          borderWidth: 1.5,
          pointRadius: 0,
          stack: 'capacity',
          order: -4,
        });
      }
    }
    const data: ChartData<'bar' | 'line', (number | null)[], string> = { labels: [...d.labels, ...(f?.labels ?? [])], datasets };
    const options: ChartOptions<'bar' | 'line'> = {
      responsive: true,
      maintainAspectRatio: false,
      interaction: { mode: 'index', intersect: false },
      scales: {
        x: { stacked: true, grid: { display: false }, ticks: { maxRotation: 0, autoSkip: true, maxTicksLimit: 10 } },
        y: { stacked: true, beginAtZero: true, grid: { color: COLORS.grid }, ticks: { precision: 0 } },
      },
      plugins: {
        legend: {
          position: 'bottom',
          labels: {
            boxWidth: 12,
            filter: (item) => item.text !== LOWER,
            // In the order of the datasets (bars first), not of their drawing order.
            sort: (a, b) => (a.datasetIndex ?? 0) - (b.datasetIndex ?? 0),
          },
        },
        tooltip: {
          filter: (item) => item.raw !== null && item.raw !== undefined && item.dataset.label !== LOWER && item.dataset.label !== BAND,
          callbacks: {
            title: (items) => ranges[items[0]?.dataIndex ?? 0] ?? '',
            label: (item) => {
              const h = f?.hours[item.dataIndex - d.labels.length];
              if (item.dataset.label === fcLabel && h) {
                return `Forecast: ${formatRate(h.expected)} per hour (90%: ${formatRate(h.lower)}–${formatRate(h.upper)})`;
              }
              if (item.dataset.label === CAPACITY && fc.data?.capacity_per_hour != null) {
                return `Capacity: ${formatRate(fc.data.capacity_per_hour)} per hour`;
              }
              return `${item.dataset.label ?? ''}: ${item.formattedValue}`;
            },
          },
        },
        ...({ findingBands: { bands } satisfies FindingBandsOptions } as object),
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
    const described = [
      `Executions finished per ${stepLabel(tp.step_seconds)} by status: ${formatCount(tp.completed)} completed, ${formatCount(tp.failed)} failed, ${formatCount(tp.timed_out)} timed out, ${formatCount(tp.cancelled)} cancelled`,
      d.previousSum !== null ? `previous period ${formatCount(d.previousSum)}` : null,
      bands.length ? `${bands.length} ${bands.length === 1 ? 'anomaly' : 'anomalies'} shaded` : null,
      f && fc.data ? `then the forecast for the next ${fc.data.series.length} h, ${formatCount(Math.round(forecastTotal(fc.data.series)))} expected` : null,
    ];
    body = (
      <div className="relative h-64">
        <Chart
          type="bar"
          data={data}
          options={options}
          plugins={[findingBandsPlugin]}
          role="img"
          aria-label={described.filter(Boolean).join('; ')}
        />
      </div>
    );
    notes = (
      <div className="mt-2 space-y-1">
        {bands.length > 0 && (
          <p className="text-xs text-slate-500">
            Shaded: {bands.length} {bands.length === 1 ? 'anomaly' : 'anomalies'} of this window (amber warning, red critical; listed under Anomalies).
          </p>
        )}
        {withForecast && (
          <ForecastNote forecast={fc.data} error={fc.isError ? fc.error : null} drawn={!!f} capacityDrawn={hasCapacity} />
        )}
      </div>
    );
  }
  return (
    <Panel title="Throughput" actions={actions}>
      {body}
      {notes}
    </Panel>
  );
}
