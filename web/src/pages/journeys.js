// Journeys: the deployed ones, their instances with timelines and reasons, the check report
// with its counterexample as a timeline, and a simulation's distributions as charts.
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { api, q } from '../api.js';
import { useApi, Loading, Table, fmtTime, fmtDuration, link, Status } from '../ui.js';
import { Chart } from '../charts.js';

export function Journeys() {
  const [data, error] = useApi('/v1/journeys');
  return html`<h1>Journeys</h1>
    <${Loading} data=${data} error=${error} what="journeys">${(d) => html`<${Table}
      rows=${d.journeys} empty="No journey is deployed."
      cols=${[
        ['Journey', (j) => link(`#/journeys/${j.name}`, j.name)],
        ['Version', (j) => j.latest_version],
        ['Correlation', (j) => j.correlation],
        ['Actions', (j) => j.actions],
        ['Description', (j) => j.description],
      ]} />`}<//>`;
}

export function Journey({ name }) {
  const [data, error] = useApi(`/v1/journeys/${encodeURIComponent(name)}/instances?limit=200`);
  return html`<h1>Journey ${name}</h1>
    <section aria-labelledby="inst-h"><h2 id="inst-h">Instances</h2>
    <${Loading} data=${data} error=${error} what="instances">${(d) => html`<${Table}
      rows=${d.instances} empty="No instance yet."
      cols=${[
        ['Key', (i) => link(`#/journeys/${name}/${encodeURIComponent(i.key)}`, i.key)],
        ['Status', (i) => (i.status === 'ended' ? `ended: ${i.end_state}` : i.status)],
        ['Customer', (i) => (i.subject && i.subject.startsWith('per_') ? link(`#/persons/${i.subject}`, i.subject) : i.subject || '—')],
        ['Started', (i) => fmtTime(i.started_at)],
      ]} />`}<//></section>
    <${CheckPanel} name=${name} />
    <${SimulatePanel} name=${name} />`;
}

function CheckPanel({ name }) {
  const [report, setReport] = useState(null);
  const [busy, setBusy] = useState(false);
  const [status, setStatus] = useState('');
  const run = async () => {
    setBusy(true);
    setStatus('Checking every order and timing the deviation model allows…');
    try {
      const r = await api(`/v1/journeys/${encodeURIComponent(name)}/check`, { method: 'POST', body: {} });
      setReport(r);
      setStatus('');
    } catch (e) { setStatus(`Check failed: ${e.message}`); }
    setBusy(false);
  };
  const violations = (report && (report.violations || [])) || [];
  return html`<section aria-labelledby="check-h"><h2 id="check-h">Check</h2>
    <button type="button" onClick=${run} disabled=${busy}>Check ${name}</button>
    <${Status} message=${status} />
    ${report && html`<p class="${report.passed || report.pass || violations.length === 0 ? 'ok' : 'error'}">
      <strong>${violations.length === 0 ? 'Pass' : `${violations.length} violated propert${violations.length === 1 ? 'y' : 'ies'}`}</strong>
      ${report.states !== undefined ? ` · ${report.states} states explored` : ''}${report.verdict ? ` · ${report.verdict}` : ''}</p>
      ${violations.map((v) => html`<article class="card">
        <h3>${v.property}${v.action ? `: ${v.action}` : ''}</h3><p>${v.message}</p>
        <h4>Counterexample</h4>
        <ol class="timeline">${(v.counterexample || v.events || v.trace || []).map((s) => html`<li>
          <time>${fmtTime(s.at || s.occurred_at || s.time)}</time> <strong>${s.type || s.kind || s.event || s.action || ''}</strong> ${s.text || s.note || ''}</li>`)}</ol>
      </article>`)}`}
  </section>`;
}

function SimulatePanel({ name }) {
  const [report, setReport] = useState(null);
  const [customers, setCustomers] = useState(1000);
  const [busy, setBusy] = useState(false);
  const [status, setStatus] = useState('');
  const run = async () => {
    setBusy(true);
    setStatus('Simulating…');
    try {
      setReport(await api(`/v1/journeys/${encodeURIComponent(name)}/simulate?${q({ customers })}`, { method: 'POST', body: {} }));
      setStatus('');
    } catch (e) { setStatus(`Simulation failed: ${e.message}`); }
    setBusy(false);
  };
  const days = report && report.days ? (Array.isArray(report.days) ? report.days : Object.entries(report.days).map(([step, counts]) => ({ step, counts }))) : [];
  return html`<section aria-labelledby="sim-h"><h2 id="sim-h">Simulation</h2>
    <div class="row"><label for="sim-n">Synthetic customers</label>
      <input id="sim-n" type="number" min="1" max="20000" value=${customers} onInput=${(e) => setCustomers(e.target.value)} />
      <button type="button" onClick=${run} disabled=${busy}>Simulate</button></div>
    <${Status} message=${status} />
    ${report && html`
      <${Table} caption="Customer-facing anomalies" rows=${Object.entries(report.anomalies || {})} cols=${[
        ['Anomaly', ([k]) => k], ['Customers', ([, v]) => v]]} />
      <${Table} caption="Completion" rows=${Object.entries(report.completion || {})} cols=${[
        ['Percentile', ([k]) => k], ['Time', ([, v]) => (typeof v === 'number' ? fmtDuration(v) : v)]]} />
      ${days.map((d) => {
        const counts = d.counts || d.days || d[1] || [];
        return html`<${Chart} title=${`Day on which “${d.step || d.name || d[0]}” completed`} time=${false} bars=${true}
          xs=${counts.map((_, i) => i)} series=${[{ label: 'customers', values: counts }]} height=${160} />`;
      })}`}
  </section>`;
}

export function Instance({ name, instanceKey }) {
  const [inst, error] = useApi(`/v1/journeys/${encodeURIComponent(name)}/instances/${encodeURIComponent(instanceKey)}`);
  return html`<h1>${name} · ${instanceKey}</h1>
    <${Loading} data=${inst} error=${error} what="the instance">${(i) => {
      const state = i.state || i;
      return html`
      <p>Status <strong>${state.status}${state.end_state ? `: ${state.end_state}` : ''}</strong>
        ${state.subject ? html` · customer ${state.subject.startsWith('per_') ? link(`#/persons/${state.subject}`, state.subject) : state.subject}` : ''}</p>
      <section aria-labelledby="tl-h"><h2 id="tl-h">Timeline</h2>
        <ol class="timeline">${(i.timeline || []).map((e) => html`<li class=${`tl-${e.kind}`}>
          <time>${fmtTime(e.at)}</time> <span class="tag">${e.kind}</span> <strong>${e.subject}</strong>
          <div>${e.text}</div>
          ${e.reasons && e.reasons.length > 0 && html`<ul class="reasons">${e.reasons.map((r) => html`<li>${r.role} ${r.fact}: ${r.held ? `held since ${fmtTime(r.since)}${r.event_id ? ` (${r.event_id})` : ''}` : 'did not hold'}</li>`)}</ul>`}
        </li>`)}</ol></section>
      <section aria-labelledby="ob-h"><h2 id="ob-h">Actions</h2>
        <${Table} rows=${i.outbox || []} empty="No action yet." cols=${[
          ['Action', (a) => a.action], ['Kind', (a) => a.kind], ['Created', (a) => fmtTime(a.created_at)],
          ['Params', (a) => Object.entries(a.params || {}).map(([k, v]) => `${k}=${v}`).join(', ')]]} /></section>`;
    }}<//>`;
}
