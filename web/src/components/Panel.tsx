import type { ReactNode } from 'react';
import { ApiError } from '../api/client';

export function Panel(props: { title: string; actions?: ReactNode; children: ReactNode; className?: string; id?: string }) {
  const headingId = `panel-${props.title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;
  return (
    <section
      aria-labelledby={headingId}
      id={props.id}
      className={`min-w-0 rounded-lg border border-slate-200 bg-white p-4 shadow-sm ${props.className ?? ''}`}
    >
      <div className="mb-3 flex flex-wrap items-center justify-between gap-2">
        <h2 id={headingId} className="text-sm font-semibold tracking-wide text-slate-700 uppercase">
          {props.title}
        </h2>
        {props.actions}
      </div>
      {props.children}
    </section>
  );
}

export function Loading(props: { what: string; className?: string }) {
  return (
    <div role="status" aria-live="polite" className={`flex items-center gap-2 text-sm text-slate-500 ${props.className ?? 'h-24'}`}>
      <span className="inline-block h-3 w-3 animate-spin rounded-full border-2 border-slate-300 border-t-slate-600" aria-hidden />
      Loading {props.what}…
    </div>
  );
}

export function Empty(props: { children: ReactNode; className?: string }) {
  return (
    <div className={`flex items-center justify-center rounded border border-dashed border-slate-200 text-sm text-slate-500 ${props.className ?? 'h-24'}`}>
      <p>{props.children}</p>
    </div>
  );
}

export function errorMessage(err: unknown): string {
  if (err instanceof ApiError) {
    return err.where ? `${err.message} (${err.where})` : err.message;
  }
  if (err instanceof Error) return err.message;
  return 'Something went wrong.';
}

export function ErrorState(props: { what: string; error: unknown; onRetry?: () => void }) {
  return (
    <div role="alert" className="rounded border border-red-200 bg-red-50 p-3 text-sm text-red-800">
      <p>
        Could not load {props.what}: {errorMessage(props.error)}
      </p>
      {props.onRetry && (
        <button
          type="button"
          onClick={props.onRetry}
          className="mt-2 rounded border border-red-300 bg-white px-2 py-1 text-xs font-medium hover:bg-red-100"
        >
          Retry
        </button>
      )}
    </div>
  );
}

/** A figure inside a panel: a small name over a value, named for assistive technology and tests. */
export function Stat(props: { name: string; value: ReactNode; sub?: ReactNode; className?: string }) {
  return (
    <div role="group" aria-label={props.name} className={`min-w-0 ${props.className ?? ''}`}>
      <div className="text-xs text-slate-500">{props.name}</div>
      <div className="text-xl font-semibold text-slate-900 tabular-nums" data-testid="stat-value">
        {props.value}
      </div>
      {props.sub && <div className="truncate text-xs text-slate-500">{props.sub}</div>}
    </div>
  );
}
