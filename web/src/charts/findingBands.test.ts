import { describe, expect, it, vi } from 'vitest';
import type { Chart } from 'chart.js';
import { BAND_COLORS, bandPixels, findingBandsPlugin } from './findingBands';
import type { FindingBand } from '../lib/patterns';

const band = (over: Partial<FindingBand> = {}): FindingBand => ({ id: 'f', from: 0.5, to: 2, severity: 'critical', label: '↑ Throughput', ...over });
// A category axis of 4 buckets over x 100..500: bucket i centred at 150 + 100 i.
const pixelFor = (v: number) => 150 + 100 * v;

describe('bandPixels', () => {
  it('turns axis positions into pixels within the chart area', () => {
    expect(bandPixels(band(), pixelFor, { left: 100, right: 500 })).toEqual({ x: 200, width: 150 });
    expect(bandPixels(band({ from: -3, to: 9 }), pixelFor, { left: 100, right: 500 })).toEqual({ x: 100, width: 400 });
  });
  it('keeps a short finding visible and drops one outside the area', () => {
    expect(bandPixels(band({ from: 1, to: 1.001 }), pixelFor, { left: 100, right: 500 })).toEqual({ x: 250, width: 2 });
    expect(bandPixels(band({ from: 5, to: 6 }), pixelFor, { left: 100, right: 500 })).toBeNull();
  });
});

describe('findingBandsPlugin', () => {
  it('shades each band over the chart area, coloured by severity, with its label', () => {
    const fills: { style: string; rect: number[] }[] = [];
    const ctx = {
      fillStyle: '',
      font: '',
      textBaseline: '',
      save: vi.fn(),
      restore: vi.fn(),
      fillRect(...rect: number[]) {
        fills.push({ style: this.fillStyle, rect });
      },
      measureText: () => ({ width: 60 }),
      fillText: vi.fn(),
    };
    const chart = {
      ctx,
      chartArea: { top: 10, bottom: 210, left: 100, right: 500 },
      scales: { x: { getPixelForValue: pixelFor } },
    } as unknown as Chart;
    const draw = findingBandsPlugin.beforeDatasetsDraw as (c: Chart, a: object, o: object) => void;
    draw(chart, {}, { bands: [band({ severity: 'warning', from: -0.5, to: 0 }), band()] });
    expect(fills).toEqual([
      { style: BAND_COLORS.warning.fill, rect: [100, 10, 50, 200] },
      { style: BAND_COLORS.warning.edge, rect: [100, 10, 50, 2] },
      { style: BAND_COLORS.critical.fill, rect: [200, 10, 150, 200] },
      { style: BAND_COLORS.critical.edge, rect: [200, 10, 150, 2] },
    ]);
    expect(ctx.fillText).toHaveBeenCalledWith('↑ Throughput', 102, 14);
    expect(ctx.fillText).toHaveBeenCalledWith('↑ Throughput', 202, 14);
  });
  it('draws nothing without bands', () => {
    const ctx = { save: vi.fn(), fillRect: vi.fn() };
    const chart = { ctx, chartArea: { top: 0, bottom: 1, left: 0, right: 1 }, scales: { x: { getPixelForValue: pixelFor } } } as unknown as Chart;
    (findingBandsPlugin.beforeDatasetsDraw as (c: Chart, a: object, o: object) => void)(chart, {}, {});
    expect(ctx.fillRect).not.toHaveBeenCalled();
  });
});
