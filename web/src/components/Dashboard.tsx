import { useCallback, useEffect, useState } from 'react';
import { LiveStatusContext, useWorkspaces } from '../api/hooks';
import { useLiveStream } from '../api/live';
import type { Finding } from '../api/types';
import { useViewState, windowOf } from '../lib/urlState';
import { AnomalyList } from './AnomalyList';
import { AnomalyToasts } from './AnomalyToast';
import { ExecutionDetail } from './ExecutionDetail';
import { ExecutionTimeline } from './ExecutionTimeline';
import { Header } from './Header';
import { LatencyDistribution } from './LatencyDistribution';
import { Empty, ErrorState, Loading } from './Panel';
import { PerformanceByAgent } from './PerformanceByAgent';
import { QueueDepthIndicator } from './QueueDepthIndicator';
import { QueueLatency } from './QueueLatency';
import { RealtimeExecutions } from './RealtimeExecutions';
import { RecentFailures } from './RecentFailures';
import { StatusBar } from './StatusBar';
import { SystemLoadMonitor } from './SystemLoadMonitor';
import { ThroughputChart } from './ThroughputChart';

export function Dashboard() {
  const [view, nav] = useViewState();
  const workspaces = useWorkspaces();
  const first = workspaces.data?.workspaces[0];

  // No workspace in the URL: take the first the key may see.
  useEffect(() => {
    if (!view.ws && first) nav({ ws: first }, { replace: true });
  }, [view.ws, first, nav]);

  // Findings announced live, shown as notices until dismissed (the list itself is refetched).
  const [notices, setNotices] = useState<{ ws: string; f: Finding }[]>([]);
  const liveWs = view.ws;
  const onAnomaly = useCallback(
    (f: Finding) => {
      if (liveWs) setNotices((n) => [{ ws: liveWs, f }, ...n.filter((x) => x.f.id !== f.id)].slice(0, 3));
    },
    [liveWs],
  );
  const dismissNotice = useCallback((id: string) => setNotices((n) => n.filter((x) => x.f.id !== id)), []);
  const live = useLiveStream(view.ws, view.agent, { onAnomaly });
  const openExecution = useCallback((id: string) => nav({ exec: id }), [nav]);
  const closeExecution = useCallback(() => nav({ exec: null }), [nav]);
  const selectAgent = useCallback((agent: string | null) => nav({ agent, exec: null }), [nav]);

  const header = (
    <Header
      view={view}
      live={live}
      onWorkspace={(ws) => nav({ ws, agent: null, exec: null })}
      onTimeframe={(tf) => nav({ tf, from: null, to: null })}
      onRange={(from, to) => nav({ from, to })}
    />
  );

  let content;
  if (!view.ws) {
    if (workspaces.isPending) content = <Loading what="workspaces" />;
    else if (workspaces.isError) content = <ErrorState what="workspaces" error={workspaces.error} onRetry={() => workspaces.refetch()} />;
    else content = <Empty>This key sees no workspace yet: no event has been sent to any.</Empty>;
  } else {
    const ws = view.ws;
    const win = windowOf(view);
    const agent = view.agent;
    content = (
      <>
        {agent && (
          <div className="flex flex-wrap items-center gap-2 rounded-lg border border-sky-200 bg-sky-50 px-3 py-2 text-sm" role="region" aria-label="Filter">
            <span>
              Showing agent <strong className="font-mono">{agent}</strong> only
            </span>
            <button
              type="button"
              onClick={() => selectAgent(null)}
              className="rounded border border-sky-300 bg-white px-2 py-0.5 text-xs hover:bg-sky-100"
            >
              Clear filter
            </button>
          </div>
        )}
        <StatusBar ws={ws} win={win} agent={agent} />
        <div className="grid gap-4 md:grid-cols-3">
          <div className="min-w-0 md:col-span-2">
            <RealtimeExecutions ws={ws} agent={agent} onOpen={openExecution} />
          </div>
          <QueueDepthIndicator ws={ws} agent={agent} />
        </div>
        <ThroughputChart ws={ws} win={win} agent={agent} />
        <div className="grid gap-4 xl:grid-cols-2">
          <AnomalyList ws={ws} win={win} agent={agent} />
          <QueueLatency ws={ws} win={win} agent={agent} />
        </div>
        <div className="grid gap-4 xl:grid-cols-2">
          <LatencyDistribution ws={ws} win={win} agent={agent} />
          <ExecutionTimeline ws={ws} win={win} agent={agent} />
        </div>
        <SystemLoadMonitor ws={ws} win={win} agent={agent} />
        <div className="grid gap-4 xl:grid-cols-2">
          <PerformanceByAgent ws={ws} win={win} agent={agent} onSelectAgent={selectAgent} />
          <RecentFailures ws={ws} win={win} agent={agent} onOpen={openExecution} />
        </div>
        {view.exec && <ExecutionDetail ws={ws} id={view.exec} onClose={closeExecution} />}
      </>
    );
  }

  return (
    <LiveStatusContext.Provider value={live}>
      {header}
      <main className="mx-auto max-w-screen-2xl space-y-4 px-4 py-4">{content}</main>
      <AnomalyToasts items={notices.filter((n) => n.ws === view.ws).map((n) => n.f)} onDismiss={dismissNotice} />
    </LiveStatusContext.Provider>
  );
}
