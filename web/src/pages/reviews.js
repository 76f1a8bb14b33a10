// The gray-zone queue: two records side by side with the evidence; A accepts, R rejects.
import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.js';
import { useApi, Loading, Status } from '../ui.js';
import { Waterfall } from '../charts.js';

function RecordCard({ id, title }) {
  const [r, error] = useApi(`/v1/records/${encodeURIComponent(id)}`);
  return html`<section class="card" aria-label=${title}><h2>${title}</h2>
    <${Loading} data=${r} error=${error} what="the record">${(r) => html`
      <p class="muted small">${r.source}:${r.source_key} · ${r.id}</p>
      <dl>${Object.entries(r.fields || {}).map(([k, v]) => html`<dt>${k}</dt><dd>${v}</dd>`)}</dl>`}<//>
  </section>`;
}

export function Reviews({ me }) {
  const [data, error, reload] = useApi('/v1/reviews');
  const [status, setStatus] = useState('');
  const writer = me.role === 'admin' || me.role === 'agent';
  const current = data && data.reviews && data.reviews[0];

  const decide = async (decision) => {
    if (!current || !writer) return;
    try {
      await api(`/v1/reviews/${current.id}`, { method: 'POST', body: { decision } });
      setStatus(`${decision === 'accept' ? 'Accepted: merged' : 'Rejected: kept apart'} (${current.id}).`);
      reload();
    } catch (e) {
      setStatus(`Not decided: ${e.message}`);
    }
  };
  useEffect(() => {
    const onKey = (e) => {
      if (e.target && ['INPUT', 'TEXTAREA'].includes(e.target.tagName)) return;
      if (e.key === 'a' || e.key === 'A') decide('accept');
      if (e.key === 'r' || e.key === 'R') decide('reject');
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  });

  return html`<h1>Reviews</h1>
    <${Status} message=${status} />
    <${Loading} data=${data} error=${error} what="reviews">${(d) =>
      !current ? html`<p>No pair is waiting for a decision.</p>` : html`
      <p>${d.reviews.length} pair(s) waiting. Same person? Probability ${current.probability.toFixed(3)}.</p>
      <div class="grid2" key=${current.id}>
        <${RecordCard} id=${current.record} title="Record" />
        <${RecordCard} id=${current.candidate} title="Candidate" />
      </div>
      <${Waterfall} explanation=${current.explanation} />
      ${writer ? html`<div class="row">
        <button type="button" onClick=${() => decide('accept')} aria-keyshortcuts="A"><u>A</u>ccept: same person</button>
        <button type="button" onClick=${() => decide('reject')} aria-keyshortcuts="R"><u>R</u>eject: different persons</button>
      </div><p class="muted">Keys: A accepts, R rejects.</p>` : html`<p class="muted">Your role can read the queue, not decide.</p>`}`}<//>`;
}
