// Charts: uPlot for time series and distributions; the match-evidence waterfall is plain SVG
// (a handful of bars, with text that a screen reader reads as a list).
import { html } from 'htm/preact';
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

const PALETTE = ['#1f5fa8', '#b3471d', '#2d7d46', '#7a3fa0', '#8a6d00', '#a0305a'];

// A line/bar chart. xs: numbers (unix seconds for time), series: [{label, values}].
export function Chart({ title, xs, series, time = true, bars = false, height = 220 }) {
  const ref = useRef(null);
  useEffect(() => {
    if (!ref.current || !xs || xs.length === 0) return;
    const width = Math.max(320, Math.min(ref.current.clientWidth || 640, 900));
    const opts = {
      title,
      width,
      height,
      scales: { x: { time } },
      series: [
        { label: time ? 'Date' : 'x' },
        ...series.map((s, i) => ({
          label: s.label,
          stroke: PALETTE[i % PALETTE.length],
          fill: bars ? PALETTE[i % PALETTE.length] + '55' : undefined,
          width: 2,
          paths: bars ? uPlot.paths.bars({ size: [0.8, 40] }) : undefined,
        })),
      ],
      axes: [{}, {}],
    };
    const plot = new uPlot(opts, [xs, ...series.map((s) => s.values)], ref.current);
    return () => plot.destroy();
  }, [title, JSON.stringify(xs), JSON.stringify(series)]);
  // The numbers as a table for those who do not see the chart.
  return html`<figure class="chart">
    <div ref=${ref} role="img" aria-label=${`${title}: chart; the numbers are in the table below`}></div>
    <details><summary>${title}: numbers</summary>
      <table><thead><tr><th scope="col">${time ? 'Date' : 'x'}</th>${series.map((s) => html`<th scope="col">${s.label}</th>`)}</tr></thead>
      <tbody>${xs.map((x, i) => html`<tr><td>${time ? new Date(x * 1000).toISOString().slice(0, 10) : x}</td>${series.map((s) => html`<td>${s.values[i]}</td>`)}</tr>`)}</tbody></table>
    </details>
  </figure>`;
}

// The match evidence: the prior, then each comparison's weight (green for, red against), and
// the total, as a waterfall of log-odds.
export function Waterfall({ explanation }) {
  if (!explanation || !explanation.fields) return html`<p class="muted">No comparison evidence (linked by ${'source key or by hand'}).</p>`;
  const steps = [{ label: 'prior', weight: explanation.prior_weight || 0, kind: 'prior' }].concat(
    explanation.fields.map((f) => ({
      label: f.comparison,
      weight: f.weight,
      kind: f.weight >= 0 ? 'for' : 'against',
      detail: `${f.level}${f.left || f.right ? `: “${f.left ?? ''}” vs “${f.right ?? ''}”` : ''}`,
    })),
  );
  let run = 0;
  const bars = steps.map((s) => {
    const start = s.kind === 'prior' ? 0 : run;
    run = s.kind === 'prior' ? s.weight : run + s.weight;
    return { ...s, start, end: run };
  });
  const total = explanation.total_weight ?? run;
  bars.push({ label: 'total', weight: total, kind: 'total', start: 0, end: total });
  const lo = Math.min(0, ...bars.map((b) => Math.min(b.start, b.end)));
  const hi = Math.max(0, ...bars.map((b) => Math.max(b.start, b.end)));
  const W = 560, rowH = 22, labelW = 150, valW = 60;
  const plotW = W - labelW - valW;
  const x = (v) => labelW + ((v - lo) / (hi - lo || 1)) * plotW;
  const H = bars.length * rowH + 10;
  return html`<figure class="waterfall">
    <svg viewBox="0 0 ${W} ${H}" width="100%" role="img"
      aria-label=${`Match evidence: total weight ${total.toFixed(2)}, probability ${(explanation.probability ?? 0).toFixed(3)}`}>
      <line x1=${x(0)} x2=${x(0)} y1="0" y2=${H} stroke="#555" stroke-dasharray="3 3" />
      ${bars.map((b, i) => html`<g>
        <text x="4" y=${i * rowH + 16} font-size="12" fill="#111">${b.label}</text>
        <rect x=${Math.min(x(b.start), x(b.end))} y=${i * rowH + 4} height=${rowH - 8}
          width=${Math.max(1, Math.abs(x(b.end) - x(b.start)))}
          class=${`bar-${b.kind}`} />
        <text x=${W - valW + 6} y=${i * rowH + 16} font-size="12" fill="#111">${b.weight >= 0 && b.kind !== 'total' && b.kind !== 'prior' ? '+' : ''}${b.weight.toFixed(2)}</text>
      </g>`)}
    </svg>
    <figcaption>
      <ul class="evidence">
        ${bars.slice(1, -1).map((b) => html`<li><strong>${b.label}</strong> ${b.weight >= 0 ? '+' : ''}${b.weight.toFixed(2)} <span class="muted">${b.detail}</span></li>`)}
      </ul>
      Total ${total.toFixed(2)} · probability ${(explanation.probability ?? 0).toFixed(3)}${explanation.rule ? ` · rule ${explanation.rule}` : ''}
    </figcaption>
  </figure>`;
}
