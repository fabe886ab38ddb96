import { describe, expect, it } from 'vitest';
import { navigate, parseViewState, serializeViewState, windowKey, windowOf } from './urlState';

describe('view state in the URL', () => {
  it('parses every field', () => {
    const s = parseViewState('?ws=acme&tf=7d&agent=summarizer&exec=run-1');
    expect(s).toEqual({ ws: 'acme', tf: '7d', from: null, to: null, agent: 'summarizer', exec: 'run-1' });
    expect(windowOf(s)).toEqual({ timeframe: '7d' });
  });
  it('defaults to 24h and drops a bad timeframe or range', () => {
    expect(parseViewState('').tf).toBe('24h');
    expect(parseViewState('?tf=2d').tf).toBe('24h');
    const bad = parseViewState('?from=yesterday&to=2026-03-01T00:00:00Z');
    expect(bad.from).toBeNull();
    const backwards = parseViewState('?from=2026-03-02T00:00:00Z&to=2026-03-01T00:00:00Z');
    expect(backwards.from).toBeNull();
  });
  it('takes a custom range over the timeframe', () => {
    const s = parseViewState('?tf=1h&from=2026-03-01T00:00:00Z&to=2026-03-02T00:00:00Z');
    expect(windowOf(s)).toEqual({ from: '2026-03-01T00:00:00Z', to: '2026-03-02T00:00:00Z' });
    expect(windowKey(windowOf(s))).toBe('2026-03-01T00:00:00Z/2026-03-02T00:00:00Z');
    expect(serializeViewState(s)).toBe('?from=2026-03-01T00%3A00%3A00Z&to=2026-03-02T00%3A00%3A00Z');
  });
  it('round-trips and leaves defaults out', () => {
    const s = parseViewState('?ws=a%2Fb&tf=7d&agent=x');
    expect(parseViewState(serializeViewState(s))).toEqual(s);
    expect(serializeViewState(parseViewState('?tf=24h'))).toBe('');
  });
  it('navigates by pushing or replacing history entries', () => {
    window.history.replaceState(null, '', '/?ws=acme');
    const before = window.history.length;
    navigate({ tf: '7d' });
    expect(window.location.search).toBe('?ws=acme&tf=7d');
    expect(window.history.length).toBe(before + 1);
    navigate({ agent: 'x' }, { replace: true });
    expect(window.location.search).toBe('?ws=acme&tf=7d&agent=x');
    expect(window.history.length).toBe(before + 1);
    navigate({ from: '2026-03-01T00:00:00Z', to: '2026-03-02T00:00:00Z' });
    expect(parseViewState(window.location.search).from).toBe('2026-03-01T00:00:00Z');
  });
});
