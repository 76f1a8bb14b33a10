// Customers: search, and the customer 360 with merge, split and undo.
import { html } from 'htm/preact';
import { useState } from 'preact/hooks';
import { api, q } from '../api.js';
import { useApi, Loading, Table, fmtTime, ConfirmButton, Status, link } from '../ui.js';
import { Waterfall } from '../charts.js';

export function PersonsSearch({ q: query }) {
  const [text, setText] = useState(query);
  const [data, error] = useApi(query ? `/v1/persons?${q({ q: query, limit: 50 })}` : null);
  return html`<h1>Customers</h1>
    <form role="search" class="row" onSubmit=${(e) => { e.preventDefault(); location.hash = `#/persons?${q({ q: text })}`; }}>
      <label for="person-q">Name, e-mail, phone or address</label>
      <input id="person-q" type="search" value=${text} onInput=${(e) => setText(e.target.value)} />
      <button type="submit">Search</button>
    </form>
    ${query && html`<${Loading} data=${data} error=${error} what="persons">${(d) => html`<${Table}
      caption=${`${d.results.length} persons for “${query}”`}
      rows=${d.results} empty="No person matches."
      cols=${[
        ['Name', (r) => link(`#/persons/${r.id}`, r.name || r.id)],
        ['Address', (r) => addressText(r.address)],
        ['E-mail', (r) => r.email || '—'],
        ['Records', (r) => r.records],
        ['Match', (r) => r.score.toFixed(2)],
      ]} />`}<//>`}`;
}

export function addressText(a) {
  if (!a) return '—';
  if (typeof a === 'string') return a;
  return [
    [a.street, a.house_number].filter(Boolean).join(' '),
    [a.postcode, a.city].filter(Boolean).join(' '),
  ].filter(Boolean).join(', ') || '—';
}

const displayName = (p) => {
  const g = p.golden || {};
  const v = (k) => (g[k] ? g[k].value : '');
  return [v('given_name') || v('first_name'), v('family_name') || v('surname') || v('last_name')].filter(Boolean).join(' ') || v('name') || p.id;
};

export function Person360({ id, me }) {
  const [p, error, reload] = useApi(`/v1/persons/${encodeURIComponent(id)}?events=50`);
  const [status, setStatus] = useState('');
  const writer = me.role === 'admin' || me.role === 'agent';
  return html`<${Loading} data=${p} error=${error} what="the customer">${(p) => html`
    <h1>${displayName(p)} <span class="muted small">${p.id}</span></h1>
    ${p.redirected_from && html`<p class="note">${p.redirected_from} was merged into this person.</p>`}
    <${Status} message=${status} />
    <div class="grid2">
      <section aria-labelledby="golden-h"><h2 id="golden-h">Golden record</h2>
        <${Table} rows=${Object.entries(p.golden || {})} cols=${[
          ['Field', ([k]) => k],
          ['Value', ([, g]) => g.value],
          ['Source', ([, g]) => html`${g.source} <span class="muted">${g.record}</span>`],
          ['Rule', ([, g]) => g.rule],
        ]} /></section>
      <section aria-labelledby="hh-h"><h2 id="hh-h">Household</h2>
        ${p.household ? html`<p>${p.household.salutation || ''}</p><p>${addressText(p.household.address || p.address)}</p>
          <ul>${(p.household.members || []).map((m) => html`<li>${m === p.id || m.id === p.id ? html`${m.name || m.id || m} (this person)` : link(`#/persons/${m.id || m}`, m.name || m.id || m)}</li>`)}</ul>`
          : html`<p class="muted">No household.</p>`}
      </section>
    </div>
    <section aria-labelledby="rec-h"><h2 id="rec-h">Source records (${p.records.length})</h2>
      <${Records} p=${p} writer=${writer} setStatus=${setStatus} reload=${reload} />
    </section>
    ${writer && html`<${MergeBox} p=${p} setStatus=${setStatus} reload=${reload} />`}
    <section aria-labelledby="ev-h"><h2 id="ev-h">Events</h2>
      <${Table} rows=${p.events} empty="No events." cols=${[
        ['When', (e) => fmtTime(e.occurred_at)], ['Type', (e) => e.type],
        ['Keys', (e) => Object.entries(e.keys || {}).map(([k, v]) => `${k}=${v}`).join(', ')],
      ]} /></section>
    <${Journeys360} journeys=${p.journeys} />
    <${Related} id=${p.id} writer=${writer} />
    ${p.reviews && p.reviews.length > 0 && html`<p>${p.reviews.length} open review(s): ${link('#/reviews', 'review queue')}</p>`}
  `}<//>`;
}

function Records({ p, writer, setStatus, reload }) {
  const [chosen, setChosen] = useState([]);
  return html`<ol class="records">
      ${p.records.map((r) => html`<li key=${r.id} class="record">
        <h3>${r.source}:${r.source_key} <span class="muted small">${r.id} · received ${fmtTime(r.received_at)}</span></h3>
        <p class="fields">${Object.entries(r.fields || {}).map(([k, v]) => html`<span><b>${k}</b> ${v}</span> `)}</p>
        <p>Linked ${r.link && r.link.by ? `by ${r.link.by}` : ''}${r.link && r.link.to ? ` to ${r.link.to}` : ''}${r.link && r.link.score !== undefined ? ` · score ${Number(r.link.score).toFixed(3)}` : ''}</p>
        ${r.link && r.link.explanation ? html`<${Waterfall} explanation=${r.link.explanation} />` : html`<p class="muted">First record of this person: nothing to compare.</p>`}
        ${writer && p.records.length > 1 && html`<label><input type="checkbox" checked=${chosen.includes(r.id)}
          onChange=${(e) => setChosen(e.target.checked ? [...chosen, r.id] : chosen.filter((x) => x !== r.id))} /> split this record off</label>`}
      </li>`)}
    </ol>
    ${writer && p.records.length > 1 && html`<${ConfirmButton} label=${`Split ${chosen.length} record(s) off`} disabled=${chosen.length === 0}
      question=${`Move ${chosen.length} record(s) to a new person?`}
      onConfirm=${async () => {
        try {
          const out = await api(`/v1/persons/${p.id}/split`, { method: 'POST', body: { records: chosen } });
          setStatus(`Split: the records are now person ${out.person || out.new_person || ''}.`);
          reload();
        } catch (e) { setStatus(`Split refused: ${e.message}`); }
      }} />`}`;
}

function MergeBox({ p, setStatus, reload }) {
  const [other, setOther] = useState('');
  const [undoId, setUndoId] = useState('');
  const merges = (p.audit || []).filter((a) => a.detail && a.detail.merge).map((a) => a.detail.merge);
  return html`<section aria-labelledby="merge-h"><h2 id="merge-h">Merge and undo</h2>
    <div class="row">
      <label for="merge-other">Merge with person id</label>
      <input id="merge-other" value=${other} onInput=${(e) => setOther(e.target.value.trim())} />
      <${ConfirmButton} label="Merge" disabled=${!other} question=${`Merge ${other} into ${p.id}? The older id survives.`}
        onConfirm=${async () => {
          try {
            const m = await api(`/v1/persons/${p.id}/merge`, { method: 'POST', body: { other } });
            setStatus(`Merged (merge ${m.id}); undo is possible.`);
            setUndoId(m.id);
            reload();
          } catch (e) { setStatus(`Merge refused: ${e.message}`); }
        }} />
    </div>
    <div class="row">
      <label for="undo-id">Undo merge</label>
      <input id="undo-id" list="merge-ids" value=${undoId} onInput=${(e) => setUndoId(e.target.value.trim())} />
      <datalist id="merge-ids">${merges.map((m) => html`<option value=${m} />`)}</datalist>
      <${ConfirmButton} label="Undo" disabled=${!undoId} question=${`Undo merge ${undoId}?`}
        onConfirm=${async () => {
          try {
            await api(`/v1/merges/${undoId}/undo`, { method: 'POST', body: {} });
            setStatus(`Merge ${undoId} undone.`);
            reload();
          } catch (e) { setStatus(`Undo refused: ${e.message}`); }
        }} />
    </div></section>`;
}

// The journeys the customer is in, whatever form of them their events named (the 360's list).
function Journeys360({ journeys }) {
  if (!journeys || journeys.length === 0) return null;
  return html`<section aria-labelledby="jr-h"><h2 id="jr-h">Journeys</h2>
    <ul>${journeys.map((j) =>
      html`<li>${link(`#/journeys/${j.journey}/${encodeURIComponent(j.key)}`, `${j.journey} · ${j.key}`)}
        <span class="muted">${j.status}${j.end_state ? `: ${j.end_state}` : ''}</span></li>`)}</ul></section>`;
}

function Related({ id, writer }) {
  const [cases] = useApi(`/v1/cases?${q({ person: id })}`);
  const [prefs] = useApi(`/v1/persons/${id}/preferences`);
  const [consents] = useApi(`/v1/persons/${id}/consents`);
  const [disc] = useApi(`/v1/persons/${id}/disclosures`);
  const list = (x, k) => (x && (x[k] || (Array.isArray(x) ? x : []))) || [];
  return html`
    <section aria-labelledby="cases-h"><h2 id="cases-h">Cases</h2>
      <${Table} rows=${list(cases, 'cases')} empty="No cases." cols=${[
        ['Case', (c) => link(`#/cases/${c.id}`, c.title || c.type)], ['Team', (c) => c.team], ['State', (c) => c.state],
        ['Opened', (c) => fmtTime(c.opened_at)]]} /></section>
    <section aria-labelledby="pref-h"><h2 id="pref-h">Preferences</h2>
      <${Table} rows=${Object.entries((prefs && prefs.preferences) || {})} empty="No preferences." cols=${[
        ['Preference', ([k]) => k], ['Value', ([, v]) => v.value], ['Set by', ([, v]) => v.set_by],
        ['Case', ([, v]) => (v.case ? link(`#/cases/${v.case}`, v.case) : '—')]]} /></section>
    <section aria-labelledby="cons-h"><h2 id="cons-h">Consents</h2>
      <${Table} rows=${list(consents, 'consents')} empty="No consents." cols=${[
        ['Purposes', (c) => (c.purposes || []).join(', ')], ['Recipients', (c) => (c.recipients || []).join(', ')],
        ['Status', (c) => c.status || (c.withdrawn_at ? 'withdrawn' : 'active')], ['Given', (c) => fmtTime(c.given_at || c.at)]]} /></section>
    <section aria-labelledby="disc-h"><h2 id="disc-h">Disclosures</h2>
      <${Table} rows=${list(disc, 'disclosures')} empty="Nothing was disclosed." cols=${[
        ['When', (d) => fmtTime(d.at)], ['Recipient', (d) => d.recipient], ['Purpose', (d) => d.purpose],
        ['Fields', (d) => (d.fields || []).join(', ')], ['Decision', (d) => (d.allowed ? `allowed (${d.basis})` : `refused: ${d.reason}`)]]} /></section>`;
}
