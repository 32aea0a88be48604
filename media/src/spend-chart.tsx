// Spend over time for the dashboard: the running total of recent calls (or per day), or one line
// per person, agent or model per day, drawn with uPlot.

import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import { SPEND_HISTORY_DAYS } from '../../src/contracts/admin';
import type { StateSnapshot } from '../../src/contracts/admin';
import type { DashboardFilters, SpendBreakdown } from '../../src/views/dashboard-model';
import { daysEndingAt, spendLines, spendSeries } from '../../src/views/dashboard-model';
import { formatUsd } from '../../src/views/status-model';

interface ChartLine {
  readonly label: string;
  readonly usd: number[];
}

const PALETTE = ['--vscode-charts-blue', '--vscode-charts-green', '--vscode-charts-yellow', '--vscode-charts-red', '--vscode-charts-purple', '--vscode-charts-orange'];
const FALLBACK = ['#3794ff', '#89d185', '#cca700', '#f14c4c', '#b180d7', '#d18616', '#9d9d9d'];

/** One chart, one line per series; remounted (by its key) when the set of lines changes. */
function SpendChart({ xs, lines, pad }: { xs: number[]; lines: ChartLine[]; pad: number }): preact.JSX.Element {
  const el = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const data = (): uPlot.AlignedData => [xs, ...lines.map((l) => l.usd)];
  useEffect(() => {
    if (!el.current) return undefined;
    const styles = getComputedStyle(document.body);
    const colour = (i: number): string => (PALETTE[i] ? styles.getPropertyValue(PALETTE[i]).trim() : '') || FALLBACK[i % FALLBACK.length]!;
    const axis = styles.getPropertyValue('--vscode-foreground').trim() || '#ccc';
    plot.current = new uPlot(
      {
        width: Math.max(300, el.current.clientWidth),
        height: lines.length > 1 ? 200 : 160,
        series: [{}, ...lines.map((l, i) => ({ label: l.label, stroke: colour(i), width: 2, value: (_u: uPlot, v: number | null) => (v == null ? '' : formatUsd(v)) }))],
        axes: [{ stroke: axis }, { stroke: axis, size: 90, values: (_u, vals) => vals.map((v) => formatUsd(v)) }],
        legend: { show: lines.length > 1, live: false },
        // One point has no span: give it some either side instead of uPlot's default of years.
        scales: { x: { time: true, range: (_u, min, max) => (min === max ? [min - pad, max + pad] : [min, max]) } },
      },
      data(),
      el.current,
    );
    return () => {
      plot.current?.destroy();
      plot.current = null;
    };
  }, []);
  useEffect(() => {
    plot.current?.setData(data());
  }, [xs, lines]);
  return <div ref={el} class="chart" data-testid="spend-chart" />;
}

const BREAKDOWNS: readonly { value: SpendBreakdown; label: string }[] = [
  { value: 'total', label: 'all spend' },
  { value: 'user', label: 'by person' },
  { value: 'agent', label: 'by agent' },
  { value: 'model', label: 'by model' },
];

/** Spend over time: the running total of recent calls or per day, or one line per person, agent or model per day. */
export function SpendOverTime({ snap, filters }: { snap: StateSnapshot; filters: DashboardFilters }): preact.JSX.Element {
  const [breakdown, setBreakdown] = useState<SpendBreakdown>('total');
  const overTime = snap.spend.overTime;
  let chart: { xs: number[]; lines: ChartLine[]; pad: number };
  if (breakdown === 'total' || !overTime) {
    const [xs, usd] = spendSeries(snap);
    chart = { xs, lines: [{ label: 'USD', usd }], pad: 60 };
  } else {
    const rows = breakdown === 'user' ? overTime.byUser : breakdown === 'agent' ? overTime.byAgent : overTime.byModel;
    const { xs, lines } = spendLines(rows, daysEndingAt(snap.time, SPEND_HISTORY_DAYS), breakdown === 'model' ? filters.model : filters.identity);
    chart = { xs, lines, pad: 43_200 };
  }
  return (
    <section>
      <h2>
        Spend over time{' '}
        {overTime && (
          <select value={breakdown} data-testid="spend-breakdown" onChange={(e) => setBreakdown((e.target as HTMLSelectElement).value as SpendBreakdown)}>
            {BREAKDOWNS.map((b) => <option key={b.value} value={b.value}>{b.label}</option>)}
          </select>
        )}
      </h2>
      {chart.lines.length === 0 ? <p class="muted">No spend in the last {SPEND_HISTORY_DAYS} days.</p> : <SpendChart key={`${breakdown}|${chart.lines.map((l) => l.label).join('|')}`} {...chart} />}
    </section>
  );
}
