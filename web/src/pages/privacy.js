// Privacy: the source registry, recipients, leak findings, and per person the disclosure
// register, the access report and erasure.
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { api, q } from '../api.js';
import { useApi, Loading, Table, fmtTime, ConfirmButton, Status, link } from '../ui.js';

export function Privacy({ me, person }) {
  const [sources, sErr] = useApi('/v1/privacy/sources');
  const [recipients] = useApi('/v1/privacy/recipients');
  const overseer = me.role === 'admin' || me.role === 'analyst';
  const [leaks, lErr] = useApi(overseer ? '/v1/privacy/leaks' : null);
  const [pid, setPid] = useState(person);
  const arr = (x, k) => (x ? x[k] || (Array.isArray(x) ? x : []) : []);
  return html`<h1>Privacy</h1>
    <section aria-labelledby="src-h"><h2 id="src-h">Source registry</h2>
      <${Loading} data=${sources} error=${sErr} what="sources">${(d) => html`<${Table} rows=${arr(d, 'sources')} cols=${[
        ['Source', (s) => s.name], ['Channel', (s) => s.channel || '—'], ['Organisation', (s) => s.organisation || s.org || '—'],
        ['Purposes', (s) => (s.purposes || []).join(', ')], ['Legal basis', (s) => s.legal_basis || (s.registered === false ? 'unregistered' : '—')],
      ]} />`}<//></section>
    <section aria-labelledby="rcp-h"><h2 id="rcp-h">Recipients</h2>
      <${Table} rows=${arr(recipients, 'recipients')} empty="No recipients registered." cols=${[
        ['Recipient', (r) => r.name], ['Legal bases', (r) => JSON.stringify(r.legal_bases || r.bases || {})], ['Mail domains', (r) => (r.mail_domains || []).join(', ')]]} /></section>
    ${overseer && html`<section aria-labelledby="leak-h"><h2 id="leak-h">Leak findings</h2>
      <${Loading} data=${leaks} error=${lErr} what="leaks">${(d) => {
        const rows = arr(d, 'leaks');
        const per = {};
        rows.forEach((l) => (per[l.recipient] = (per[l.recipient] || 0) + 1));
        return html`<p>${Object.entries(per).map(([r, n]) => html`<span class="tag">${r}: ${n}</span> `)}</p>
        <${Table} rows=${rows} empty="No leaks found." cols=${[
          ['Recipient', (l) => l.recipient], ['Customer', (l) => link(`#/persons/${l.person}`, l.person)],
          ['Sender', (l) => l.sender_domain], ['Finding', (l) => l.finding], ['Mail received', (l) => fmtTime(l.received_at)]]} />`;
      }}<//></section>`}
    <section aria-labelledby="person-h"><h2 id="person-h">A person's data</h2>
      <form class="row" onSubmit=${(e) => { e.preventDefault(); location.hash = `#/privacy?${q({ person: pid })}`; }}>
        <label for="privacy-person">Person id</label>
        <input id="privacy-person" value=${pid} onInput=${(e) => setPid(e.target.value.trim())} />
        <button type="submit">Show</button>
      </form>
      ${person && html`<${PersonPrivacy} id=${person} me=${me} />`}
    </section>`;
}

function PersonPrivacy({ id, me }) {
  const [disc, error] = useApi(`/v1/persons/${encodeURIComponent(id)}/disclosures`);
  const [report, setReport] = useState(null);
  const [status, setStatus] = useState('');
  const writer = me.role === 'admin' || me.role === 'agent';
  return html`<${Status} message=${status} />
    <h3>Disclosure register</h3>
    <${Loading} data=${disc} error=${error} what="disclosures">${(d) => html`<${Table}
      rows=${d.disclosures || []} empty="Nothing disclosed or refused." cols=${[
        ['When', (x) => fmtTime(x.at)], ['Recipient', (x) => x.recipient], ['Purpose', (x) => x.purpose],
        ['Fields', (x) => (x.fields || []).join(', ')], ['Decision', (x) => (x.allowed ? `allowed (${x.basis})` : `refused: ${x.reason}`)]]} />`}<//>
    ${writer && html`<div class="row">
      <button type="button" onClick=${async () => {
        try { setReport(await api(`/v1/persons/${encodeURIComponent(id)}/access-report`)); setStatus('Access report ready.'); }
        catch (e) { setStatus(`No report: ${e.message}`); }
      }}>Access report (Art. 15)</button>
      ${me.role === 'admin' && html`<${ConfirmButton} label="Erase (Art. 17)" question=${`Erase all personal data of ${id}? This cannot be undone.`}
        onConfirm=${async () => {
          try { const r = await api(`/v1/persons/${encodeURIComponent(id)}/erasure`, { method: 'POST', body: { reason: 'customer request (console)' } });
            setStatus(`Erased: erasure ${r.id || ''}.`); }
          catch (e) { setStatus(`Erasure failed: ${e.message}`); }
        }} />`}
    </div>`}
    ${report && html`<details open><summary>Access report</summary><pre class="json" tabindex="0" aria-label="Access report as JSON">${JSON.stringify(report, null, 2)}</pre></details>`}`;
}
