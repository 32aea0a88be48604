// Spend over time for the dashboard: the running total of recent calls (or per day), or one line
// per person, agent or model per day, drawn with uPlot.

import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import { SPEND_HISTORY_DAYS } from '../../src/contracts/admin';
import type { StateSnapshot } from '../../src/contracts/admin';
import type { DashboardFilters, SpendBreakdown } from '../../src/views/dashboard-model';
import { daysEndingAt, spendLines, spendSeries, timeAxisRange, timeAxisSpace, timeTickLabels } from '../../src/views/dashboard-model';
import { formatUsd } from '../../src/views/status-model';

interface ChartLine {
  readonly label: string;
  readonly usd: number[];
}

const PALETTE = ['--vscode-charts-blue', '--vscode-charts-green', '--vscode-charts-yellow', '--vscode-charts-red', '--vscode-charts-purple', '--vscode-charts-orange'];
const FALLBACK = ['#3794ff', '#89d185', '#cca700', '#f14c4c', '#b180d7', '#d18616', '#9d9d9d'];

/**
 * One chart, one line per series; remounted (by its key) when the set of lines changes. The element
 * carries what the x axis shows (`data-x-ticks`: the tick labels painted on the canvas,
 * `data-x-range`: the scale's ends as ISO times), so the axis can be read without the canvas.
 */
function SpendChart({ xs, lines }: { xs: number[]; lines: ChartLine[] }): preact.JSX.Element {
  const el = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const data = (): uPlot.AlignedData => [xs, ...lines.map((l) => l.usd)];
  useEffect(() => {
    if (!el.current) return undefined;
    const host = el.current;
    const styles = getComputedStyle(document.body);
    const colour = (i: number): string => (PALETTE[i] ? styles.getPropertyValue(PALETTE[i]).trim() : '') || FALLBACK[i % FALLBACK.length]!;
    const axis = styles.getPropertyValue('--vscode-foreground').trim() || '#ccc';
    let ticks: string[] = [];
    const iso = (s: number | undefined): string | null => (s == null || !Number.isFinite(s) ? null : new Date(s * 1000).toISOString());
    plot.current = new uPlot(
      {
        width: Math.max(300, host.clientWidth),
        height: lines.length > 1 ? 200 : 160,
        // Days are UTC days: ticks fall on UTC midnights and are labelled in UTC.
        tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
        series: [{}, ...lines.map((l, i) => ({ label: l.label, stroke: colour(i), width: 2, value: (_u: uPlot, v: number | null) => (v == null ? '' : formatUsd(v)) }))],
        axes: [
          { stroke: axis, space: (_u, _i, min, max, plotPx) => timeAxisSpace(min, max, plotPx), values: (_u, splits, _i, _space, incr) => (ticks = timeTickLabels(splits, incr)) },
          { stroke: axis, size: 90, values: (_u, vals) => vals.map((v) => formatUsd(v)) },
        ],
        legend: { show: lines.length > 1, live: false },
        // From the data, not uPlot's bounds: it gives a single point a thousand days to its right.
        scales: { x: { time: true, range: (u) => timeAxisRange(u.data[0]) } },
        hooks: {
          draw: [
            (u) => {
              host.dataset.xTicks = JSON.stringify(ticks);
              host.dataset.xRange = JSON.stringify([iso(u.scales.x?.min), iso(u.scales.x?.max)]);
            },
          ],
        },
      },
      data(),
      host,
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
  let chart: { xs: number[]; lines: ChartLine[] };
  if (breakdown === 'total' || !overTime) {
    const [xs, usd] = spendSeries(snap);
    chart = { xs, lines: xs.length > 0 ? [{ label: 'USD', usd }] : [] };
  } else {
    const rows = breakdown === 'user' ? overTime.byUser : breakdown === 'agent' ? overTime.byAgent : overTime.byModel;
    const { xs, lines } = spendLines(rows, daysEndingAt(snap.time, SPEND_HISTORY_DAYS), breakdown === 'model' ? filters.model : filters.identity);
    chart = { xs, lines };
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
