// Customer analytics: the figures per scenario, their course per day or week, and the
// customers at risk with a way to open a case for each.
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { api, q, token } from '../api.js';
import { useApi, Loading, Table, fmtTime, fmtDuration, pct, link, Status } from '../ui.js';
import { Chart } from '../charts.js';

const eur = (x) => `${(x || 0).toFixed(2)} €`;

function Figure({ label, value, note, bad }) {
  return html`<div class=${`figure${bad ? ' bad' : ''}`}><dt>${label}</dt><dd>${value}</dd>${note && html`<dd class="muted small">${note}</dd>`}</div>`;
}

export function Analytics({ me, params }) {
  const [from, setFrom] = useState(params.from || '');
  const [to, setTo] = useState(params.to || '');
  const bucket = params.bucket || 'day';
  const query = q({ from: params.from, to: params.to, bucket });
  const [r, error, reload] = useApi(`/v1/analytics/kpis?${query}`);
  const go = (e) => { e.preventDefault(); location.hash = `#/analytics?${q({ from, to, bucket: e.target.bucket.value })}`; };
  const download = async () => {
    const res = await fetch(`/v1/analytics/kpis?${q({ from: params.from, to: params.to, bucket, format: 'csv' })}`, { headers: { Authorization: `Bearer ${token()}` } });
    const url = URL.createObjectURL(await res.blob());
    const a = document.createElement('a');
    a.href = url; a.download = 'rapport-kpis.csv'; a.click();
    URL.revokeObjectURL(url);
  };
  return html`<h1>Customer analytics</h1>
    <form class="row" onSubmit=${go}>
      <label for="kpi-from">From</label><input id="kpi-from" type="date" value=${from} onInput=${(e) => setFrom(e.target.value)} />
      <label for="kpi-to">To</label><input id="kpi-to" type="date" value=${to} onInput=${(e) => setTo(e.target.value)} />
      <label for="kpi-bucket">Per</label>
      <select id="kpi-bucket" name="bucket" value=${bucket}><option value="day">day</option><option value="week">week</option></select>
      <button type="submit">Show</button>
      <button type="button" onClick=${download}>CSV</button>
    </form>
    <${Loading} data=${r} error=${error} what="the figures">${(r) => html`
      <p class="muted">${fmtTime(r.from)} – ${fmtTime(r.to)}, computed from the logs.</p>
      <section aria-labelledby="s2-h"><h2 id="s2-h">One truth per customer (S2)</h2><dl class="figures">
        <${Figure} label="Records" value=${r.s2.records} /><${Figure} label="Persons" value=${r.s2.persons} />
        <${Figure} label="Households" value=${r.s2.households} /><${Figure} label="Duplicates found" value=${r.s2.duplicates_found} />
        <${Figure} label="Letters avoided" value=${r.s2.letters_avoided} note=${`${eur(r.s2.cost_avoided_eur)} at ${eur(r.letter_price_eur)} per letter`} />
      </dl>
      <${Table} caption="Per mailing" rows=${r.s2.mailings} cols=${[
        ['Mailing', (m) => m.name], ['Segment', (m) => m.segment || 'all'], ['Without Rapport', (m) => m.source_customers - m.without_address],
        ['Letters', (m) => m.households], ['Avoided', (m) => m.letters_avoided], ['Saved', (m) => eur(m.cost_avoided_eur)]]} /></section>
      <section aria-labelledby="s1-h"><h2 id="s1-h">Messages at the right time (S1)</h2><dl class="figures">
        <${Figure} label="Messages sent" value=${r.s1.messages_sent} />
        <${Figure} label="Held back (prerequisite missing)" value=${r.s1.held_back} />
        <${Figure} label="Premature messages" value=${r.s1.premature} bad=${r.s1.premature > 0} note="must be 0" />
        <${Figure} label="Duplicate messages" value=${r.s1.duplicates} bad=${r.s1.duplicates > 0} note="must be 0" />
        <${Figure} label="Deadlines moved with a late delivery" value=${r.s1.deadlines_moved} />
        <${Figure} label="Broken promises" value=${r.s1.broken_promises} bad=${r.s1.broken_promises > 0} />
      </dl></section>
      <section aria-labelledby="s3-h"><h2 id="s3-h">Nobody asked twice (S3)</h2><dl class="figures">
        <${Figure} label="Cases opened" value=${r.s3.cases_opened} /><${Figure} label="Handovers" value=${r.s3.handovers} />
        <${Figure} label="Questions asked twice" value=${r.s3.asked_twice} bad=${r.s3.asked_twice > 0} />
        <${Figure} label="Time to resolution (median)" value=${fmtDuration(r.s3.time_to_resolution.median_seconds)} note=${`p90 ${fmtDuration(r.s3.time_to_resolution.p90_seconds)}, ${r.s3.time_to_resolution.count} cases`} />
        <${Figure} label="First-contact resolution" value=${pct(r.s3.first_contact_resolution)} note=${`${r.s3.resolved_first_contact} of ${r.s3.resolved} resolved`} />
      </dl></section>
      <section aria-labelledby="s4-h"><h2 id="s4-h">Where data went (S4)</h2>
        <${Table} caption="Per recipient" rows=${Object.entries(r.s4.recipients)} empty="No disclosures in this period." cols=${[
          ['Recipient', ([k]) => k], ['Disclosed', ([, v]) => v.disclosed], ['Refused', ([, v]) => v.refused], ['Leak findings', ([, v]) => v.leaks]]} />
        <dl class="figures"><${Figure} label="Access reports" value=${r.s4.access_reports} note=${`median ${fmtDuration(r.s4.access_report_duration.median_seconds)} from the request`} />
        <${Figure} label="Erasures" value=${r.s4.erasures} note=${`median ${fmtDuration(r.s4.erasure_duration.median_seconds)} from the request`} /></dl></section>
      <section aria-labelledby="s5-h"><h2 id="s5-h">Feedback that changes something (S5)</h2><dl class="figures">
        <${Figure} label="Feedback turned into cases" value=${r.s5.feedback_cases} />
        <${Figure} label="First contact within SLA" value=${pct(r.s5.first_contact_within_sla_rate)} note=${`${r.s5.first_contact_within_sla} of ${r.s5.first_contact_slas}`} />
        <${Figure} label="Preferences applied to later orders" value=${r.s5.preferences_applied} />
      </dl></section>
      <section aria-labelledby="s6-h"><h2 id="s6-h">Fixed the first time (S6)</h2><dl class="figures">
        <${Figure} label="Repairs" value=${r.s6.repairs} />
        <${Figure} label="First-time-fix rate" value=${pct(r.s6.first_time_fix_rate)} note=${`${r.s6.fixed_first_time} of ${r.s6.repairs}`} />
        <${Figure} label="Parts forecast top-3 recall" value=${r.s6.forecast ? pct(r.s6.forecast.top3_recall) : '—'} note=${r.s6.forecast ? `on ${r.s6.forecast.test_repairs} repairs since the period's start` : 'no repairs to measure'} />
      </dl></section>
      <${SeriesCharts} r=${r} />
      <${AtRisk} rows=${r.at_risk} me=${me} reload=${reload} />`}<//>`;
}

function SeriesCharts({ r }) {
  const cols = r.series.columns;
  const xs = r.series.rows.map((row) => Date.parse(row[0]) / 1000);
  const pick = (...names) => names.map((n) => ({ label: n.replace(/_/g, ' '), values: r.series.rows.map((row) => row[cols.indexOf(n)]) }));
  return html`<section aria-labelledby="trend-h"><h2 id="trend-h">Per ${r.bucket}</h2>
    <${Chart} title="Orders and customer messages" xs=${xs} series=${pick('orders', 'messages_sent', 'messages_held_back')} />
    <${Chart} title="Cases" xs=${xs} series=${pick('cases_opened', 'handovers', 'cases_resolved', 'feedback_cases')} />
    <${Chart} title="Disclosures and leaks" xs=${xs} series=${pick('disclosures', 'refusals', 'leaks')} bars=${true} />
  </section>`;
}

function AtRisk({ rows, me }) {
  const [status, setStatus] = useState('');
  const [opened, setOpened] = useState({});
  const writer = me.role === 'admin' || me.role === 'agent';
  const open = async (a) => {
    try {
      const c = await api('/v1/cases', { method: 'POST', body: {
        person: a.person, type: 'inquiry', priority: 'high', title: `Follow-up: ${a.reason}`,
        text: `Customer at risk: ${a.reason}. Call back and resolve.`, in_contact: false } });
      setOpened({ ...opened, [a.person]: c.id });
      setStatus(`Case ${c.id} opened for ${a.person} (team ${c.team}).`);
    } catch (e) { setStatus(`No case opened: ${e.message}`); }
  };
  return html`<section aria-labelledby="risk-h"><h2 id="risk-h">Customers at risk (${rows.length})</h2>
    <p class="muted">Their last experience was bad and nothing resolved follows it.</p>
    <${Status} message=${status} />
    <${Table} rows=${rows} empty="Nobody is at risk." cols=${[
      ['Customer', (a) => link(`#/persons/${a.person}`, a.person)], ['What happened', (a) => a.reason],
      ['When', (a) => fmtTime(a.at)],
      ['', (a) => (opened[a.person] ? link(`#/cases/${opened[a.person]}`, `case ${opened[a.person]}`)
        : writer ? html`<button type="button" onClick=${() => open(a)}>Open case<span class="sr-only"> for ${a.person}</span></button>` : '')],
    ]} /></section>`;
}
