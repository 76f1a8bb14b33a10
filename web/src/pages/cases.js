// Cases: queues per team with SLA clocks, and the receiving agent's view.
import { html } from 'htm/preact';
import { useEffect, useState } from 'preact/hooks';
import { q } from '../api.js';
import { useApi, Loading, Table, fmtTime, fmtDuration, link } from '../ui.js';

// The clock of an SLA: met, breached, or the time left (negative: overdue).
export function SlaClock({ sla, now }) {
  if (!sla) return html`<span class="muted">—</span>`;
  if (sla.met_at) return html`<span class="ok">${sla.name} met ${fmtTime(sla.met_at)}</span>`;
  if (sla.breached_at) return html`<span class="error">${sla.name} breached ${fmtTime(sla.breached_at)}</span>`;
  const left = (new Date(sla.due) - now) / 1000;
  const warn = sla.warned_at || left < 3600 * 4;
  return html`<span class=${left < 0 ? 'error' : warn ? 'warn' : ''}>${sla.name}: ${left < 0 ? `${fmtDuration(-left)} overdue` : `${fmtDuration(left)} left`}</span>`;
}

function useNow() {
  const [now, setNow] = useState(Date.now());
  const [clock] = useApi('/v1/clock');
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 30000);
    return () => clearInterval(t);
  }, []);
  // The server's clock (a demo or test may run a manual one).
  return clock ? new Date(clock.now).getTime() + (now - Date.now()) : now;
}

export function Cases({ team }) {
  const [data, error] = useApi(`/v1/cases?${q({ team, limit: 500 })}`);
  const now = useNow();
  return html`<h1>Cases${team ? ` · ${team}` : ''}</h1>
    <${Loading} data=${data} error=${error} what="cases">${(d) => {
      const open = d.cases.filter((c) => c.state !== 'closed' && c.state !== 'resolved');
      const teams = [...new Set(d.cases.map((c) => c.team))].sort();
      return html`<p>${open.length} open of ${d.cases.length}.</p>
        ${teams.map((t) => {
          const rows = d.cases.filter((c) => c.team === t).sort((a, b) => (a.state === 'open' ? -1 : 1) - (b.state === 'open' ? -1 : 1));
          return html`<section aria-labelledby=${`q-${t}`}><h2 id=${`q-${t}`}>${link(`#/cases?team=${encodeURIComponent(t)}`, t)} <span class="muted small">${rows.filter((c) => c.state !== 'closed' && c.state !== 'resolved').length} open</span></h2>
            <${Table} rows=${rows} cols=${[
              ['Case', (c) => link(`#/cases/${c.id}`, c.title || c.type)],
              ['Priority', (c) => c.priority],
              ['State', (c) => c.state + (c.escalated ? ' (escalated)' : '')],
              ['Opened', (c) => fmtTime(c.opened_at)],
              ['SLA', (c) => (c.sla || []).map((s) => html`<div><${SlaClock} sla=${s} now=${now} /></div>`)],
            ]} /></section>`;
        })}`;
    }}<//>`;
}

export function CaseView({ id }) {
  const [v, error] = useApi(`/v1/cases/${encodeURIComponent(id)}/view`);
  const [c] = useApi(`/v1/cases/${encodeURIComponent(id)}`);
  const now = useNow();
  return html`<h1>Case ${id}</h1>
    <${Loading} data=${v} error=${error} what="the case">${(v) => html`
      <p>Team <strong>${v.team}</strong> · ${v.state} · priority ${v.priority}
        ${v.person ? html` · customer ${link(`#/persons/${v.person}`, v.person)}` : ''}</p>
      <div class="grid2">
        <section aria-labelledby="known-h" class="card"><h2 id="known-h">Known</h2>
          <${Table} rows=${v.known} empty="Nothing collected yet." cols=${[
            ['Field', (k) => k.label], ['Value', (k) => k.value], ['Collected by', (k) => `${k.team || ''} ${(k.collected_by && (k.collected_by.name || k.collected_by.id)) || ''}`],
            ['When', (k) => fmtTime(k.collected_at)]]} /></section>
        <section aria-labelledby="dna-h" class="card"><h2 id="dna-h">Do not ask</h2>
          <ul>${v.do_not_ask.map((f) => html`<li>${f}</li>`)}</ul>
          <h2 id="miss-h">Missing</h2>
          ${v.missing.length ? html`<ul>${v.missing.map((f) => html`<li>${f}</li>`)}</ul>` : html`<p>Nothing: the team has what it needs.</p>`}
          <h2>Verification</h2>
          ${v.verification ? html`<p class=${v.verification.valid_now ? 'ok' : 'warn'}>${v.verification.valid_now ? 'Valid now' : 'Expired'}: ${v.verification.method}, until ${fmtTime(v.verification.valid_until)}</p>` : html`<p class="warn">Not verified.</p>`}
          <p>Asked twice: <strong>${v.repeats}</strong></p>
        </section>
      </div>
      <section aria-labelledby="sla-h"><h2 id="sla-h">SLA clocks</h2>
        <ul>${(v.sla || []).map((s) => html`<li><${SlaClock} sla=${s} now=${now} /> (due ${fmtTime(s.due)})</li>`)}</ul></section>
      <section aria-labelledby="tl-h"><h2 id="tl-h">Timeline</h2>
        <ol class="timeline">${((c && c.timeline) || []).map((e) => html`<li><time>${fmtTime(e.at)}</time> <span class="tag">${e.kind}</span> ${e.team}
          ${e.reason ? ` · ${e.reason}` : ''}${e.text ? ` · “${e.text}”` : ''}${e.to ? ` → ${e.to}` : ''}${e.rule ? ` (rule ${e.rule})` : ''}</li>`)}</ol></section>`}<//>`;
}
