import { describe, expect, it } from 'vitest';
import { forecast, FORECAST_EXPECTED } from '../test/fixtures';
import { capacityInView, forecastChartData, forecastLabel, forecastTotal, showsForecast } from './forecast';

describe('showsForecast', () => {
  it('is drawn after the 24h and 7d windows only', () => {
    expect(showsForecast({ timeframe: '24h' })).toBe(true);
    expect(showsForecast({ timeframe: '7d' })).toBe(true);
    expect(showsForecast({ timeframe: '1h' })).toBe(false);
    expect(showsForecast({ timeframe: '30d' })).toBe(false);
    expect(showsForecast({ from: '2026-03-01T00:00:00Z', to: '2026-03-02T00:00:00Z' })).toBe(false);
  });
});

describe('forecastLabel', () => {
  it('says the forecast is per hour, and how it is scaled', () => {
    expect(forecastLabel(3600)).toBe('Forecast, per hour');
    expect(forecastLabel(900)).toBe('Forecast, per hour ÷ 4 (per 15 min)');
  });
});

describe('forecastChartData', () => {
  it('continues an hourly chart hour for hour', () => {
    const d = forecastChartData(forecast(), '2026-03-01T11:00:00Z', 3600, 'UTC')!;
    expect(d.labels).toHaveLength(24);
    expect(d.labels[0]).toBe('1 Mar 12:00');
    expect(d.labels[23]).toBe('2 Mar 11:00');
    expect(d.expected).toEqual(FORECAST_EXPECTED);
    expect(d.lower[0]).toBe(432);
    expect(d.upper[0]).toBe(648);
    expect(d.capacity.every((c) => c === 960)).toBe(true);
    expect(d.factor).toBe(1);
    expect(d.ranges[0]).toBe('1 Mar, 12:00 – 13:00 (forecast)');
  });
  it('spreads each hour over 15-minute buckets', () => {
    const d = forecastChartData(forecast(), '2026-03-01T11:45:00Z', 900, 'UTC')!;
    expect(d.labels).toHaveLength(96);
    expect(d.expected.slice(0, 5)).toEqual([135, 135, 135, 135, 140]);
    expect(d.capacity[0]).toBe(240);
    expect(d.hours[4]?.expected).toBe(560);
  });
  it('leaves buckets before the first forecast hour empty', () => {
    // The observed series ends inside the hour before the forecast's first.
    const d = forecastChartData(forecast(), '2026-03-01T11:15:00Z', 900, 'UTC')!;
    expect(d.expected.slice(0, 4)).toEqual([null, null, 135, 135]);
    expect(d.labels[0]).toBe('11:30');
  });
  it('has no capacity line without heartbeats', () => {
    const d = forecastChartData(forecast({ capacity_per_hour: null }), '2026-03-01T11:00:00Z', 3600)!;
    expect(d.capacity.every((c) => c === null)).toBe(true);
  });
  it('draws nothing for daily steps or an empty forecast', () => {
    expect(forecastChartData(forecast(), '2026-03-01T00:00:00Z', 86400)).toBeNull();
    expect(forecastChartData(forecast({ series: [] }), '2026-03-01T11:00:00Z', 3600)).toBeNull();
  });
  it('adds up the expected executions', () => {
    expect(forecastTotal(forecast().series)).toBe(FORECAST_EXPECTED.reduce((a, b) => a + b, 0));
  });
});

describe('capacityInView', () => {
  it('draws the capacity line when it is near the data, not far above it', () => {
    expect(capacityInView(240, 200)).toBe(true);
    expect(capacityInView(400, 200)).toBe(true);
    expect(capacityInView(401, 200)).toBe(false);
    expect(capacityInView(null, 100)).toBe(false);
    expect(capacityInView(1, 0)).toBe(true);
  });
});
