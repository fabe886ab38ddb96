import { describe, expect, it } from 'vitest';
import { resources } from '../test/fixtures';
import { anyHeartbeat, barWidth, labelList, loadChartData, memoryText } from './resources';

describe('loadChartData', () => {
  it('gives utilization and CPU in percent, gaps where no heartbeat arrived', () => {
    const r = resources();
    const d = loadChartData(r.series, 60, 'UTC');
    expect(d.labels).toEqual(['11:57', '11:58', '11:59']);
    expect(d.utilizationPct).toEqual([null, 45, 37.5]);
    expect(d.cpuPct).toEqual([null, 55.1, 41.5]);
    expect(d.workers).toEqual([null, 3, 2]);
    expect(d.sampled).toBe(true);
  });
  it('is unsampled when no bucket had a heartbeat', () => {
    const r = resources();
    expect(loadChartData([r.series[0]!], 60).sampled).toBe(false);
  });
});

describe('anyHeartbeat', () => {
  it('tells a workspace whose workers never reported', () => {
    const r = resources();
    expect(anyHeartbeat(r)).toBe(true);
    const never = { workers: [], workers_active: 0, workers_lost: 0, series: [r.series[0]!] };
    expect(anyHeartbeat(never)).toBe(false);
    // Silent for more than a day, but heard from in the window.
    expect(anyHeartbeat({ ...never, series: r.series })).toBe(true);
  });
});

describe('worker figures', () => {
  it('writes memory against its limit when sent', () => {
    expect(memoryText(2 * 1024 ** 3, 8 * 1024 ** 3)).toBe('2 GiB of 8 GiB');
    expect(memoryText(1536 * 1024 ** 2, null)).toBe('1.5 GiB');
    expect(memoryText(null, null)).toBe('—');
  });
  it('sorts labels by key', () => {
    expect(labelList({ region: 'eu-west-1', pool: 'gpu' })).toEqual(['pool=gpu', 'region=eu-west-1']);
    expect(labelList({})).toEqual([]);
  });
  it('clamps bar widths', () => {
    expect(barWidth(0.375)).toBe(37.5);
    expect(barWidth(1.2)).toBe(100);
    expect(barWidth(null)).toBe(0);
  });
});
