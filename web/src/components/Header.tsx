import { useState, type FormEvent } from 'react';
import { useWorkspaces, type LiveStatus } from '../api/hooks';
import { useSession } from '../api/session';
import { isCustomRange, type ViewState } from '../lib/urlState';
import { localInputToRfc3339, rangeLabel, rfc3339ToLocalInput, TIMEFRAMES, type Timeframe } from '../lib/time';

const liveLook: Record<LiveStatus, { text: string; dot: string; title: string }> = {
  live: { text: 'Live', dot: 'bg-emerald-500', title: 'Receiving live updates' },
  connecting: { text: 'Connecting…', dot: 'bg-slate-400', title: 'Opening the live connection' },
  reconnecting: {
    text: 'Reconnecting…',
    dot: 'bg-amber-500',
    title: 'The live connection is down; figures are polled every 5 s until it is back',
  },
  unsupported: { text: 'Polling', dot: 'bg-slate-400', title: 'No live connection; figures are polled every 5 s' },
};

export function LiveMark(props: { status: LiveStatus }) {
  const l = liveLook[props.status];
  return (
    <span
      role="status"
      aria-label={`Connection: ${l.text}`}
      title={l.title}
      data-live={props.status}
      className="inline-flex items-center gap-1.5 rounded-full border border-slate-200 bg-white px-2 py-0.5 text-xs text-slate-700"
    >
      <span className={`inline-block h-2 w-2 rounded-full ${l.dot} ${props.status === 'live' ? 'animate-pulse' : ''}`} aria-hidden />
      {l.text}
    </span>
  );
}

function WorkspaceSelect(props: { ws: string | null; onChange: (ws: string) => void }) {
  const q = useWorkspaces();
  const list = q.data?.workspaces ?? [];
  const options = props.ws && !list.includes(props.ws) ? [props.ws, ...list] : list;
  return (
    <label className="flex items-center gap-1.5 text-sm">
      <span className="text-slate-500">Workspace</span>
      <select
        value={props.ws ?? ''}
        onChange={(e) => props.onChange(e.target.value)}
        disabled={q.isPending || options.length === 0}
        className="max-w-44 rounded border border-slate-300 bg-white px-2 py-1 text-sm"
      >
        {q.isPending && <option value="">Loading…</option>}
        {q.isError && !props.ws && <option value="">Could not load</option>}
        {options.map((w) => (
          <option key={w} value={w}>
            {w}
          </option>
        ))}
      </select>
    </label>
  );
}

function CustomRange(props: { view: ViewState; onApply: (from: string, to: string) => void; onCancel: () => void }) {
  const now = Date.now();
  const [from, setFrom] = useState(() => rfc3339ToLocalInput(props.view.from ?? new Date(now - 86_400_000).toISOString()));
  const [to, setTo] = useState(() => rfc3339ToLocalInput(props.view.to ?? new Date(now).toISOString()));
  const [error, setError] = useState<string | null>(null);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const f = localInputToRfc3339(from);
    const t = localInputToRfc3339(to);
    if (!f || !t) return setError('Give both a start and an end.');
    if (Date.parse(f) >= Date.parse(t)) return setError('The start must be before the end.');
    if (Date.parse(t) - Date.parse(f) > 400 * 86_400_000) return setError('A range is at most 400 days.');
    setError(null);
    props.onApply(f, t);
  };

  return (
    <form
      onSubmit={submit}
      aria-label="Custom range"
      className="absolute top-full right-0 z-30 mt-2 w-72 rounded-lg border border-slate-200 bg-white p-3 shadow-lg"
    >
      <label className="block text-xs text-slate-600">
        From
        <input
          type="datetime-local"
          value={from}
          onChange={(e) => setFrom(e.target.value)}
          className="mt-0.5 block w-full rounded border border-slate-300 px-2 py-1 text-sm"
        />
      </label>
      <label className="mt-2 block text-xs text-slate-600">
        To
        <input
          type="datetime-local"
          value={to}
          onChange={(e) => setTo(e.target.value)}
          className="mt-0.5 block w-full rounded border border-slate-300 px-2 py-1 text-sm"
        />
      </label>
      <p className="mt-1 text-xs text-slate-500">In your time zone; sent to the server in UTC.</p>
      {error && (
        <p role="alert" className="mt-1 text-xs text-red-700">
          {error}
        </p>
      )}
      <div className="mt-3 flex justify-end gap-2">
        <button type="button" onClick={props.onCancel} className="rounded px-2 py-1 text-sm hover:bg-slate-100">
          Cancel
        </button>
        <button type="submit" className="rounded bg-slate-900 px-3 py-1 text-sm text-white hover:bg-slate-700">
          Apply
        </button>
      </div>
    </form>
  );
}

export function Header(props: {
  view: ViewState;
  live: LiveStatus;
  onWorkspace: (ws: string) => void;
  onTimeframe: (tf: Timeframe) => void;
  onRange: (from: string, to: string) => void;
}) {
  const { signOut } = useSession();
  const [rangeOpen, setRangeOpen] = useState(false);
  const custom = isCustomRange(props.view);
  const btn = (active: boolean) =>
    `px-2.5 py-1 text-sm first:rounded-l last:rounded-r border-y border-l last:border-r border-slate-300 ${
      active ? 'bg-slate-900 text-white border-slate-900' : 'bg-white hover:bg-slate-100'
    }`;

  return (
    <header className="sticky top-0 z-20 border-b border-slate-200 bg-white/95 backdrop-blur">
      <div className="mx-auto flex max-w-screen-2xl flex-wrap items-center gap-x-4 gap-y-2 px-4 py-2">
        <h1 className="text-base font-semibold whitespace-nowrap">Shadower execution metrics</h1>
        <WorkspaceSelect ws={props.view.ws} onChange={props.onWorkspace} />
        <div className="relative flex items-center gap-2">
          <div role="group" aria-label="Timeframe" className="flex">
            {TIMEFRAMES.map((tf) => (
              <button
                key={tf}
                type="button"
                aria-pressed={!custom && props.view.tf === tf}
                onClick={() => {
                  setRangeOpen(false);
                  props.onTimeframe(tf);
                }}
                className={btn(!custom && props.view.tf === tf)}
              >
                {tf}
              </button>
            ))}
            <button
              type="button"
              aria-pressed={custom}
              aria-expanded={rangeOpen}
              onClick={() => setRangeOpen((o) => !o)}
              className={btn(custom)}
              title={custom ? rangeLabel(props.view.from!, props.view.to!) : 'Pick a custom range'}
            >
              {custom ? rangeLabel(props.view.from!, props.view.to!) : 'Custom…'}
            </button>
          </div>
          {rangeOpen && (
            <CustomRange
              view={props.view}
              onCancel={() => setRangeOpen(false)}
              onApply={(f, t) => {
                setRangeOpen(false);
                props.onRange(f, t);
              }}
            />
          )}
        </div>
        <div className="ml-auto flex items-center gap-3">
          <LiveMark status={props.live} />
          <button type="button" onClick={() => signOut()} className="text-sm text-slate-600 hover:text-slate-900 hover:underline">
            Sign out
          </button>
        </div>
      </div>
    </header>
  );
}
