// Small shared pieces: loading an API answer, tables, times, confirmations.
import { html } from 'htm/preact';
import { useEffect, useState, useCallback } from 'preact/hooks';
import { api } from './api.js';

// Loads `path` (re-loads when it or `deps` change); returns [data, error, reload].
export function useApi(path, deps = []) {
  const [state, setState] = useState({ data: null, error: null });
  const load = useCallback(() => {
    if (!path) return;
    let live = true;
    api(path).then(
      (data) => live && setState({ data, error: null }),
      (error) => live && setState({ data: null, error }),
    );
    return () => (live = false);
  }, [path, ...deps]);
  useEffect(load, [load]);
  return [state.data, state.error, load];
}

export function Loading({ data, error, children, what = 'data' }) {
  if (error) return html`<p class="error" role="alert">Could not load ${what}: ${error.message}</p>`;
  if (!data) return html`<p class="muted" aria-busy="true">Loading ${what}…</p>`;
  return children(data);
}

export const fmtTime = (t) => {
  if (!t) return '—';
  const d = new Date(t);
  if (isNaN(d)) return t;
  return d.toISOString().replace('T', ' ').slice(0, 16) + ' UTC';
};

export const fmtDuration = (secs) => {
  if (secs === null || secs === undefined) return '—';
  const neg = secs < 0;
  let s = Math.abs(secs);
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const h = Math.floor(s / 3600);
  const m = Math.floor((s - h * 3600) / 60);
  const txt = d ? `${d} d ${h} h` : h ? `${h} h ${m} min` : `${m} min`;
  return neg ? `-${txt}` : txt;
};

export const pct = (x) => (x === null || x === undefined ? '—' : `${Math.round(x * 1000) / 10} %`);

// A table from rows and [header, cell(row)] columns.
export function Table({ caption, rows, cols, empty = 'Nothing yet.', rowKey }) {
  if (!rows || rows.length === 0) return html`<p class="muted">${empty}</p>`;
  return html`<table>
    ${caption && html`<caption>${caption}</caption>`}
    <thead><tr>${cols.map(([h]) => html`<th scope="col">${h}</th>`)}</tr></thead>
    <tbody>
      ${rows.map(
        (r, i) => html`<tr key=${rowKey ? rowKey(r) : i}>${cols.map(([, cell]) => html`<td>${cell(r)}</td>`)}</tr>`,
      )}
    </tbody>
  </table>`;
}

// A button that asks before it acts: the question and Confirm/Cancel appear in place.
export function ConfirmButton({ label, question, onConfirm, disabled }) {
  const [asking, setAsking] = useState(false);
  const [busy, setBusy] = useState(false);
  if (!asking) {
    return html`<button type="button" disabled=${disabled} onClick=${() => setAsking(true)}>${label}</button>`;
  }
  return html`<span class="confirm" role="group" aria-label=${question}>
    <span>${question}</span>
    <button type="button" class="danger" disabled=${busy}
      onClick=${async () => {
        setBusy(true);
        try {
          await onConfirm();
        } finally {
          setBusy(false);
          setAsking(false);
        }
      }}>Confirm</button>
    <button type="button" onClick=${() => setAsking(false)}>Cancel</button>
  </span>`;
}

export function Status({ message }) {
  return html`<p class="status" role="status" aria-live="polite">${message || ''}</p>`;
}

export const link = (href, text) => html`<a href=${href}>${text}</a>`;
