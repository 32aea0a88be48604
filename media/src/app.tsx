// The dashboard, one app for both hosts: live buckets per identity and rule, budgets with their
// alert thresholds, spend by person, agent and model, spend over time, refusals as they happen,
// tool calls and approvals waiting, the policy in force and recent decisions. It receives whole states from a HostChannel (the
// editor's webview or a browser on a gateway) and keeps only its filters.

import { useEffect, useState } from 'preact/hooks';
import 'uplot/dist/uPlot.min.css';
import './dashboard.css';
import type { DashboardState, PolicyNotice } from '../../src/protocol';
import type { BucketRow, DashboardFilters, OutcomeFilter } from '../../src/views/dashboard-model';
import { bucketRows, noFilters, parseFilters, recentDecisions, spendRows } from '../../src/views/dashboard-model';
import type { RuleSummary } from '../../src/contracts/admin';
import { formatUsd } from '../../src/views/status-model';
import type { DecisionSummary, SpendRow } from '../../src/contracts/ledger-queries';
import type { HostChannel } from './host-channel';
import { SpendOverTime } from './spend-chart';
import { SuspensionsSection } from './suspensions-section';
import { ToolsSection } from './tools-section';

function savedFilters(channel: HostChannel): DashboardFilters {
  const saved = channel.savedView() as { filters?: unknown } | undefined;
  return parseFilters(saved?.filters);
}

function formatAmount(value: number, unit: BucketRow['unit']): string {
  return unit === 'usd' ? formatUsd(value) : Number.isInteger(value) ? String(value) : value.toFixed(1);
}

function Bar({ row }: { row: BucketRow }): preact.JSX.Element {
  const level = row.fill >= 0.9 ? 'danger' : row.fill >= 0.8 || row.crossed !== undefined ? 'warn' : 'ok';
  return (
    <div class="bar" title={`${Math.round(row.fill * 100)}% used`}>
      <div class={`fill ${level}`} style={{ width: `${(row.fill * 100).toFixed(1)}%` }} />
      {row.alertAt.map((t) => (
        <div key={t} class="tick" style={{ left: `${t * 100}%` }} title={`alert at ${Math.round(t * 100)}%`} />
      ))}
    </div>
  );
}

function Buckets({ rows, title, testid }: { rows: BucketRow[]; title: string; testid: string }): preact.JSX.Element {
  return (
    <section data-testid={testid}>
      <h2>{title}</h2>
      {rows.length === 0 ? (
        <p class="muted">Nothing counted yet.</p>
      ) : (
        <table>
          <thead>
            <tr><th>Rule</th><th>Identity</th><th class="wide">Fill</th><th class="num">Used / limit</th></tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={`${r.rule}|${r.key}`} class="bucket">
                <td>{r.rule}</td>
                <td>{r.key}</td>
                <td><Bar row={r} /></td>
                <td class="num">{formatAmount(r.used, r.unit)} / {formatAmount(r.limit, r.unit)} {r.unit === 'usd' ? '' : r.unit}{r.crossed !== undefined ? ` · alert ${Math.round(r.crossed * 100)}%` : ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function SpendTable({ rows, title, testid }: { rows: SpendRow[]; title: string; testid: string }): preact.JSX.Element {
  return (
    <section data-testid={testid}>
      <h2>{title}</h2>
      <table>
        <thead><tr><th>{title.replace('Spend by ', '')}</th><th class="num">Requests</th><th class="num">Tokens in / out</th><th class="num">USD</th></tr></thead>
        <tbody>
          {rows.map((r) => (
            <tr key={r.key}><td>{r.key || <span class="muted">none named (tool calls)</span>}</td><td class="num">{r.requests}</td><td class="num">{r.input_tokens} / {r.output_tokens}</td><td class="num">{formatUsd(r.usd)}</td></tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function PolicyInForce({ policy, rules }: { policy: PolicyNotice; rules?: readonly RuleSummary[] }): preact.JSX.Element {
  return (
    <section data-testid="policy">
      <h2>Policy in force</h2>
      {policy.name ? (
        <p>
          <strong>{policy.name}</strong> <code title={policy.hash}>{policy.hash?.slice(0, 12)}</code> <span class="muted">from {policy.source}</span>
        </p>
      ) : (
        <p class="muted">No policy loaded yet.</p>
      )}
      {rules && rules.length > 0 && (
        <table>
          <thead><tr><th>Rule</th><th>Kind</th><th>Per</th><th>Allows</th></tr></thead>
          <tbody>
            {rules.map((r) => (
              <tr key={r.id} class="rule"><td>{r.id}</td><td>{r.kind}</td><td>{r.per}</td><td>{r.text}</td></tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function Refusals({ rows }: { rows: DecisionSummary[] }): preact.JSX.Element {
  return (
    <section data-testid="refusals">
      <h2>Refusals</h2>
      {rows.length === 0 ? (
        <p class="muted">No refusals among the recent decisions.</p>
      ) : (
        <table>
          <thead><tr><th>Time</th><th>Identity</th><th>Model</th><th>Rule / reason</th><th class="num">Status</th></tr></thead>
          <tbody>
            {rows.map((d) => (
              <tr key={d.id} class="refusal" data-decision-id={d.id}>
                <td>{new Date(d.time).toLocaleTimeString()}</td>
                <td>{d.user} / {d.agent}</td>
                <td class="model">{d.model}</td>
                <td>{d.rule ?? ''}</td>
                <td class="num">{d.status}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

export function App({ channel }: { channel: HostChannel }): preact.JSX.Element {
  const [state, setState] = useState<DashboardState | undefined>(undefined);
  const [filters, setFilters] = useState<DashboardFilters>(() => savedFilters(channel));

  useEffect(() => channel.subscribe(setState), [channel]);

  const update = (next: Partial<DashboardFilters>): void => {
    const merged = { ...filters, ...next };
    setFilters(merged);
    channel.saveView({ filters: merged });
  };

  if (!state) return <p class="muted">Connecting to the Tollgate {channel.hostLabel}…</p>;
  const snap = state.snapshot;
  const rows = snap ? bucketRows(snap.accumulators, filters) : [];
  const decisions = snap ? recentDecisions(snap.recent, filters) : [];
  const refusals = snap ? recentDecisions(snap.recent, { ...filters, outcome: 'refuse' }) : [];
  const run = channel.run;

  return (
    <main>
      <header>
        <h1>Tollgate</h1>
        <span class={`phase ${state.proxy.phase}`} data-testid="proxy-phase">{channel.hostLabel} {state.proxy.phase}</span>
        {state.user && <span class="muted">as {state.user}</span>}
        {state.policy.name && <span class="muted">policy {state.policy.name}</span>}
        {snap && <span data-testid="today-usd">today {formatUsd(snap.todayUsd)}</span>}
        <span class="spacer" />
        <button onClick={() => channel.refresh()}>Refresh</button>
        {run && <button class="secondary" onClick={() => run('tollgate.showLog')}>Log</button>}
        {channel.signOut && <button class="secondary" data-testid="sign-out" onClick={channel.signOut}>Sign out</button>}
      </header>
      {state.proxy.detail && <p class="notice">{state.proxy.detail}</p>}
      {state.policy.rejected && (
        <p class="notice error" data-testid="policy-rejected">
          The last policy edit was not applied ({state.policy.rejected.errors.length} error(s)); {state.policy.name ?? 'the previous policy'} stays in force.
          <br />
          {state.policy.rejected.errors.slice(0, 3).join(' · ')}
        </p>
      )}
      <div class="filters">
        <label>Identity <input value={filters.identity} placeholder="user or agent" onInput={(e) => update({ identity: (e.target as HTMLInputElement).value })} /></label>
        <label>Model <input value={filters.model} placeholder="model" onInput={(e) => update({ model: (e.target as HTMLInputElement).value })} /></label>
        <label>
          Outcome{' '}
          <select value={filters.outcome} onChange={(e) => update({ outcome: (e.target as HTMLSelectElement).value as OutcomeFilter })}>
            {(['all', 'allow', 'refuse', 'downgrade', 'error'] as const).map((o) => <option key={o} value={o}>{o}</option>)}
          </select>
        </label>
        <button class="secondary" onClick={() => update(noFilters)}>Clear</button>
      </div>
      {snap ? (
        <>
          <SuspensionsSection snap={snap} resume={channel.resume} />
          <Buckets rows={rows.filter((r) => r.kind !== 'budget')} title="Limits" testid="limits" />
          <Buckets rows={rows.filter((r) => r.kind === 'budget')} title="Budgets" testid="budgets" />
          <SpendOverTime snap={snap} filters={filters} />
          <Refusals rows={refusals} />
          <div class="columns">
            <SpendTable rows={spendRows(snap.spend.byUser, filters.identity)} title="Spend by person" testid="spend-person" />
            <SpendTable rows={spendRows(snap.spend.byModel, filters.model)} title="Spend by model" testid="spend-model" />
            <SpendTable rows={spendRows(snap.spend.byAgent, filters.identity)} title="Spend by agent" testid="spend-agent" />
          </div>
          <ToolsSection snap={snap} identity={filters.identity} />
          <section data-testid="recent">
            <h2>Recent decisions</h2>
            <table>
              <thead><tr><th>Time</th><th>Identity</th><th>Model</th><th>Outcome</th><th>Rule / reason</th><th class="num">Status</th><th class="num">USD</th></tr></thead>
              <tbody>
                {decisions.map((d) => (
                  <tr key={d.id} class={`decision ${d.outcome}`} data-decision-id={d.id}>
                    <td>{new Date(d.time).toLocaleTimeString()}</td>
                    <td>{d.user} / {d.agent}</td>
                    <td class="model">{d.model_served && d.model_served !== d.model ? `${d.model} → ${d.model_served}` : d.model}</td>
                    <td>{d.outcome}{d.shadow ? ' (shadow)' : ''}</td>
                    <td>{d.rule ?? ''}</td>
                    <td class="num">{d.status}</td>
                    <td class="num">{formatUsd(d.usd)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            {decisions.length === 0 && <p class="muted">No decisions yet{filters.identity || filters.model || filters.outcome !== 'all' ? ' (check the filters)' : ''}.</p>}
          </section>
        </>
      ) : (
        <p class="muted">Waiting for the {channel.hostLabel}'s first snapshot…</p>
      )}
      <PolicyInForce policy={state.policy} rules={snap?.rules} />
    </main>
  );
}
