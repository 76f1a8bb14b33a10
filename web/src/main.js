// The Rapport console: a login, a navigation by role, and one page per hash route.
import { render } from 'preact';
import { html } from 'htm/preact';
import { useEffect, useState, useRef } from 'preact/hooks';
import { api, setToken, takeTokenFromFragment, token } from './api.js';
import { PersonsSearch, Person360 } from './pages/persons.js';
import { Reviews } from './pages/reviews.js';
import { Journeys, Journey, Instance } from './pages/journeys.js';
import { Cases, CaseView } from './pages/cases.js';
import { WorkOrders, Briefing } from './pages/workorders.js';
import { Privacy } from './pages/privacy.js';
import { Analytics } from './pages/analytics.js';
import './style.css';

takeTokenFromFragment();

const STAFF = ['admin', 'agent', 'analyst'];
// Pages, who sees them in the navigation (the API decides what each role may do).
const NAV = [
  ['#/persons', 'Customers', STAFF],
  ['#/reviews', 'Reviews', STAFF],
  ['#/journeys', 'Journeys', STAFF],
  ['#/cases', 'Cases', ['admin', 'agent', 'analyst', 'partner']],
  ['#/work-orders', 'Work orders', ['admin', 'agent', 'analyst', 'partner']],
  ['#/privacy', 'Privacy', STAFF],
  ['#/analytics', 'Analytics', STAFF],
];

export function parseRoute(hash) {
  const h = (hash || '').replace(/^#/, '') || '/';
  const [path, query = ''] = h.split('?');
  const params = Object.fromEntries(new URLSearchParams(query));
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  return { path, parts, params };
}

function Page({ route, me }) {
  const [a, b, c] = route.parts;
  const p = route.params;
  switch (a) {
    case undefined:
      return html`<${Home} me=${me} />`;
    case 'persons':
      return b ? html`<${Person360} id=${b} me=${me} />` : html`<${PersonsSearch} q=${p.q || ''} />`;
    case 'reviews':
      return html`<${Reviews} me=${me} />`;
    case 'journeys':
      if (c) return html`<${Instance} name=${b} instanceKey=${c} />`;
      return b ? html`<${Journey} name=${b} me=${me} />` : html`<${Journeys} />`;
    case 'cases':
      return b ? html`<${CaseView} id=${b} me=${me} />` : html`<${Cases} team=${p.team || ''} />`;
    case 'work-orders':
      return b ? html`<${Briefing} id=${b} />` : html`<${WorkOrders} />`;
    case 'privacy':
      return html`<${Privacy} me=${me} person=${p.person || ''} />`;
    case 'analytics':
      return html`<${Analytics} me=${me} params=${p} />`;
    default:
      return html`<h1>Not found</h1><p>No page at ${route.path}. <a href="#/">Start page</a></p>`;
  }
}

function Home({ me }) {
  const pages = NAV.filter(([, , roles]) => roles.includes(me.role));
  return html`<h1>Rapport console</h1>
    <p>Signed in as <strong>${me.name || me.token_id}</strong> (${me.role}${me.org ? `, ${me.org}` : ''}).</p>
    <ul class="tiles">
      ${pages.map(([href, label]) => html`<li><a href=${href}>${label}</a></li>`)}
    </ul>`;
}

function Login({ onLogin, error }) {
  const [value, setValue] = useState('');
  return html`<main id="main" class="login">
    <h1>Rapport console</h1>
    <form onSubmit=${(e) => { e.preventDefault(); onLogin(value.trim()); }}>
      <label for="token">API token</label>
      <input id="token" name="token" type="password" autocomplete="off" value=${value}
        onInput=${(e) => setValue(e.target.value)} required />
      <button type="submit">Sign in</button>
      ${error && html`<p class="error" role="alert">${error}</p>`}
    </form>
    <p class="muted">Ask an admin for a token (<code>rapport token create --role agent</code>).</p>
  </main>`;
}

function App() {
  const [route, setRoute] = useState(parseRoute(location.hash));
  const [me, setMe] = useState(null);
  const [error, setError] = useState('');
  const main = useRef(null);

  const whoami = () =>
    api('/v1/whoami').then(setMe, (e) => {
      setMe(null);
      setError(e.status === 401 ? 'That token is not valid (or was revoked).' : e.message);
      setToken('');
    });

  useEffect(() => {
    const onHash = () => {
      if (takeTokenFromFragment()) whoami();
      setRoute(parseRoute(location.hash));
    };
    window.addEventListener('hashchange', onHash);
    if (token()) whoami();
    return () => window.removeEventListener('hashchange', onHash);
  }, []);

  // A new page: focus its heading region so screen readers announce it.
  useEffect(() => {
    if (main.current) main.current.focus();
  }, [route.path]);

  if (!me) {
    return html`<${Login} error=${error} onLogin=${(t) => { setToken(t); setError(''); whoami(); }} />`;
  }
  const section = '#/' + (route.parts[0] || '');
  return html`
    <header class="top">
      <a class="brand" href="#/">Rapport</a>
      <nav aria-label="Main">
        <ul>
          ${NAV.filter(([, , roles]) => roles.includes(me.role)).map(
            ([href, label]) => html`<li><a href=${href} aria-current=${section === href ? 'page' : undefined}>${label}</a></li>`,
          )}
        </ul>
      </nav>
      <span class="who">${me.name || me.role}${me.org ? ` · ${me.org}` : ''}
        <button type="button" class="link" onClick=${() => { setToken(''); setMe(null); }}>Sign out</button></span>
    </header>
    <main id="main" tabindex="-1" ref=${main}><${Page} route=${route} me=${me} key=${location.hash + me.token_id} /></main>`;
}

render(html`<${App} />`, document.getElementById('app'));
