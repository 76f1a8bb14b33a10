// Work orders and the technician briefing.
import { html } from 'htm/preact';
import { useApi, Loading, Table, fmtTime, link, pct } from '../ui.js';

export function WorkOrders() {
  const [data, error] = useApi('/v1/work-orders?limit=200');
  return html`<h1>Work orders</h1>
    <${Loading} data=${data} error=${error} what="work orders">${(d) => html`<${Table}
      rows=${d.work_orders || d.orders || []} empty="No work orders."
      cols=${[
        ['Work order', (w) => link(`#/work-orders/${w.id}`, w.id)],
        ['Partner', (w) => w.partner || w.org],
        ['Status', (w) => w.status],
        ['Symptom', (w) => w.symptom || '—'],
        ['Appliance', (w) => w.asset],
        ['Created', (w) => fmtTime(w.created_at)],
      ]} />`}<//>`;
}

export function Briefing({ id }) {
  const [b, error] = useApi(`/v1/work-orders/${encodeURIComponent(id)}/briefing`);
  return html`<h1>Briefing ${id}</h1>
    <${Loading} data=${b} error=${error} what="the briefing">${(b) => html`
      ${(() => { const a = b.asset || {}; const model = b.model || a.model; return model && html`<p>Model <strong>${model}</strong>${b.family || a.family ? ` (${b.family || a.family})` : ''}${a.serial ? ` · serial ${a.serial}` : ''}${b.age_band ? ` · age ${b.age_band}` : ''}</p>`; })()}
      <section aria-labelledby="sym-h" class="card"><h2 id="sym-h">Reported symptom</h2>
        <p>${(b.reported_symptom && (b.reported_symptom.text || b.reported_symptom.symptom)) || b.symptom || '—'}</p></section>
      <section aria-labelledby="parts-h"><h2 id="parts-h">Parts likely needed</h2>
        <${Table} rows=${b.predicted_parts || []} empty="No forecast." cols=${[
          ['Part', (p) => p.part], ['Probability', (p) => pct(p.probability)],
          ['Rests on', (p) => p.rests_on],
          ['Counts', (p) => (p.evidence || []).filter((e) => e.repairs > 0).map((e) => `${e.level}: ${e.with_part}/${e.repairs}`).join(' · ')],
        ]} /></section>
      <section aria-labelledby="hist-h"><h2 id="hist-h">Service history (all partners)</h2>
        <${Table} rows=${b.history || []} empty="No earlier service." cols=${[
          ['Date', (r) => fmtTime(r.date)], ['Partner', (r) => r.partner || '—'], ['Kind', (r) => r.kind],
          ['Symptom', (r) => r.symptom || '—'], ['Findings', (r) => r.findings || '—'],
          ['Parts used', (r) => (r.parts_used || []).join(', ') || '—'], ['Outcome', (r) => r.outcome]]} /></section>`}<//>`;
}
