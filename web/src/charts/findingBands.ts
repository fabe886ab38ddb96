// A chart.js plugin that shades the detector's findings as time ranges of a
// category x axis, under the datasets, with a short label at the top.
import type { Chart, Plugin } from 'chart.js';
import type { FindingBand } from '../lib/patterns';

export const BAND_COLORS = {
  warning: { fill: 'rgba(245, 158, 11, 0.16)', edge: 'rgba(217, 119, 6, 0.7)', text: '#b45309' },
  critical: { fill: 'rgba(239, 68, 68, 0.16)', edge: 'rgba(220, 38, 38, 0.75)', text: '#b91c1c' },
} as const;

export interface FindingBandsOptions {
  bands?: FindingBand[];
}

/** Where a band lies in pixels, clamped to the chart area; null when it has no width there. */
export function bandPixels(
  band: FindingBand,
  pixelFor: (v: number) => number,
  area: { left: number; right: number },
): { x: number; width: number } | null {
  const a = pixelFor(band.from);
  const b = pixelFor(band.to);
  if (!Number.isFinite(a) || !Number.isFinite(b)) return null;
  const x0 = Math.max(area.left, Math.min(a, b));
  const x1 = Math.min(area.right, Math.max(a, b));
  // A finding of one minute on an hourly axis is still visible.
  if (x1 < x0) return null;
  return { x: x0, width: Math.max(2, x1 - x0) };
}

export const findingBandsPlugin: Plugin<'bar' | 'line'> = {
  id: 'findingBands',
  beforeDatasetsDraw(chart: Chart, _args, opts: FindingBandsOptions) {
    const bands = opts.bands ?? [];
    const x = chart.scales.x;
    if (!x || bands.length === 0) return;
    const { top, bottom, left, right } = chart.chartArea;
    const ctx = chart.ctx;
    ctx.save();
    ctx.font = '600 10px ui-sans-serif, system-ui, sans-serif';
    ctx.textBaseline = 'top';
    let lastLabelEnd = -Infinity;
    for (const b of bands) {
      const px = bandPixels(b, (v) => x.getPixelForValue(v), { left, right });
      if (!px) continue;
      const c = BAND_COLORS[b.severity];
      ctx.fillStyle = c.fill;
      ctx.fillRect(px.x, top, px.width, bottom - top);
      ctx.fillStyle = c.edge;
      ctx.fillRect(px.x, top, px.width, 2);
      // Labels that would overlap the previous one are left out; the list says it all.
      const w = ctx.measureText(b.label).width;
      if (px.x >= lastLabelEnd + 4 && px.x + w <= right) {
        ctx.fillStyle = c.text;
        ctx.fillText(b.label, px.x + 2, top + 4);
        lastLabelEnd = px.x + 2 + w;
      }
    }
    ctx.restore();
  },
};
