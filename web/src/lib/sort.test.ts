import { describe, expect, it } from 'vitest';
import { metrics } from '../test/fixtures';
import type { AgentPerf } from '../api/types';
import { nextSort, sortAgents } from './sort';

const rows = metrics().performance.by_agent;
const ids = (r: AgentPerf[]) => r.map((a) => a.agent_id);

describe('sortAgents', () => {
  it('sorts by each column both ways', () => {
    expect(ids(sortAgents(rows, { key: 'total', dir: 'desc' }))).toEqual(['summarizer', 'classifier', 'writer']);
    expect(ids(sortAgents(rows, { key: 'total', dir: 'asc' }))).toEqual(['writer', 'classifier', 'summarizer']);
    expect(ids(sortAgents(rows, { key: 'agent_id', dir: 'asc' }))).toEqual(['classifier', 'summarizer', 'writer']);
    expect(ids(sortAgents(rows, { key: 'success_rate', dir: 'asc' }))).toEqual(['writer', 'classifier', 'summarizer']);
    expect(ids(sortAgents(rows, { key: 'p95_ms', dir: 'desc' }))).toEqual(['writer', 'summarizer', 'classifier']);
  });
  it('puts unknown values last either way and does not touch its input', () => {
    const withNull = [...rows, { ...rows[0]!, agent_id: 'idle', success_rate: null, p50_ms: null }];
    expect(ids(sortAgents(withNull, { key: 'p50_ms', dir: 'asc' })).at(-1)).toBe('idle');
    expect(ids(sortAgents(withNull, { key: 'p50_ms', dir: 'desc' })).at(-1)).toBe('idle');
    expect(ids(withNull)).toEqual(['summarizer', 'classifier', 'writer', 'idle']);
  });
});

describe('nextSort', () => {
  it('flips the same column and starts a new one in its natural direction', () => {
    expect(nextSort({ key: 'total', dir: 'desc' }, 'total')).toEqual({ key: 'total', dir: 'asc' });
    expect(nextSort({ key: 'total', dir: 'desc' }, 'agent_id')).toEqual({ key: 'agent_id', dir: 'asc' });
    expect(nextSort({ key: 'agent_id', dir: 'asc' }, 'p99_ms')).toEqual({ key: 'p99_ms', dir: 'desc' });
  });
});
