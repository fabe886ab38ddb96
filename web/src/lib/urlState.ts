// The view's state lives in the URL query so a view can be shared and
// reloaded: ?ws=&tf=&from=&to=&agent=&exec=
import { useMemo, useSyncExternalStore } from 'react';
import type { WindowParams } from '../api/client';
import { DEFAULT_TIMEFRAME, isRfc3339, isTimeframe, type Timeframe } from './time';

export interface ViewState {
  ws: string | null;
  /** The named timeframe; ignored while a custom range (from and to) is set. */
  tf: Timeframe;
  from: string | null;
  to: string | null;
  agent: string | null;
  exec: string | null;
}

export function parseViewState(search: string): ViewState {
  const q = new URLSearchParams(search);
  const get = (k: string) => {
    const v = q.get(k);
    return v === null || v === '' ? null : v;
  };
  const tf = get('tf');
  let from = get('from');
  let to = get('to');
  if (!isRfc3339(from) || !isRfc3339(to) || Date.parse(from) >= Date.parse(to)) {
    from = null;
    to = null;
  }
  return {
    ws: get('ws'),
    tf: isTimeframe(tf) ? tf : DEFAULT_TIMEFRAME,
    from,
    to,
    agent: get('agent'),
    exec: get('exec'),
  };
}

/** The query string of a view, "" when everything is default; keys in a fixed order. */
export function serializeViewState(s: ViewState): string {
  const q = new URLSearchParams();
  if (s.ws) q.set('ws', s.ws);
  if (s.from && s.to) {
    q.set('from', s.from);
    q.set('to', s.to);
  } else if (s.tf !== DEFAULT_TIMEFRAME) {
    q.set('tf', s.tf);
  }
  if (s.agent) q.set('agent', s.agent);
  if (s.exec) q.set('exec', s.exec);
  const out = q.toString();
  return out ? '?' + out : '';
}

export function isCustomRange(s: ViewState): boolean {
  return !!(s.from && s.to);
}

/** The window of the API requests for a view. */
export function windowOf(s: ViewState): WindowParams {
  return s.from && s.to ? { from: s.from, to: s.to } : { timeframe: s.tf };
}

/** A stable string for query keys. */
export function windowKey(w: WindowParams): string {
  return 'timeframe' in w ? w.timeframe : `${w.from}/${w.to}`;
}

const CHANGE = 'shadower:urlchange';

function subscribe(cb: () => void): () => void {
  window.addEventListener('popstate', cb);
  window.addEventListener(CHANGE, cb);
  return () => {
    window.removeEventListener('popstate', cb);
    window.removeEventListener(CHANGE, cb);
  };
}

const getSearch = () => window.location.search;

/** Changes the URL query; a new history entry unless replace is set. */
export function navigate(patch: Partial<ViewState>, opts: { replace?: boolean } = {}): void {
  const next = { ...parseViewState(window.location.search), ...patch };
  const url = window.location.pathname + serializeViewState(next) + window.location.hash;
  if (url === window.location.pathname + window.location.search + window.location.hash) return;
  if (opts.replace) window.history.replaceState(null, '', url);
  else window.history.pushState(null, '', url);
  window.dispatchEvent(new Event(CHANGE));
}

/** The view state from the URL, re-read on every navigation and back/forward. */
export function useViewState(): [ViewState, typeof navigate] {
  const search = useSyncExternalStore(subscribe, getSearch, getSearch);
  // Same search, same object, so effects keyed on it do not re-run.
  const state = useMemo(() => parseViewState(search), [search]);
  return [state, navigate];
}
