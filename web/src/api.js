// The one way the console talks to Rapport: the public API with the user's token.
const KEY = 'rapport.token';

export function token() {
  return sessionStorage.getItem(KEY) || '';
}
export function setToken(t) {
  if (t) sessionStorage.setItem(KEY, t);
  else sessionStorage.removeItem(KEY);
}

// A `token=` parameter in the fragment (the demo's link) is taken, kept for the session and
// removed from the address bar, so it is neither bookmarked nor shown over a shoulder.
export function takeTokenFromFragment() {
  const hash = location.hash || '';
  const m = hash.match(/[#?&]token=([^&]*)/);
  if (!m) return false;
  setToken(decodeURIComponent(m[1]));
  let rest = hash.replace(/([#?&])token=[^&]*&?/, '$1').replace(/[?&]$/, '');
  if (rest === '#' || rest === '') rest = '#/';
  history.replaceState(null, '', location.pathname + location.search + rest);
  return true;
}

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.error && body.error.message) || `HTTP ${status}`);
    this.status = status;
    this.code = body && body.error && body.error.code;
  }
}

export async function api(path, { method = 'GET', body, raw = false } = {}) {
  const headers = { Authorization: `Bearer ${token()}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (raw) {
    if (!res.ok) throw new ApiError(res.status, null);
    return res.text();
  }
  const text = await res.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch (e) {
    json = null;
  }
  if (!res.ok) throw new ApiError(res.status, json);
  return json;
}

export const q = (params) =>
  Object.entries(params)
    .filter(([, v]) => v !== undefined && v !== null && v !== '')
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
    .join('&');
