// The API, called with the bearer token the user pasted. The token lives in this
// tab's sessionStorage (gone when the tab closes, never in a URL, never in a cookie,
// so no other site can make the browser send it).

const tokenKey = 'console.token';

export function token() {
  return sessionStorage.getItem(tokenKey) || '';
}

export function setToken(value) {
  if (value) sessionStorage.setItem(tokenKey, value);
  else sessionStorage.removeItem(tokenKey);
}

// claims reads the token's payload for display only (who am I, which scopes): the
// server verifies the token, the console trusts nothing in it.
export function claims() {
  try {
    const part = token().split('.')[1].replaceAll('-', '+').replaceAll('_', '/');
    return JSON.parse(atob(part));
  } catch {
    return {};
  }
}

// ApiError is an answer other than 2xx, with its problem document when there is one.
export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

export function headers(extra = {}) {
  return { Authorization: `Bearer ${token()}`, ...extra };
}

// get reads path as JSON.
export async function get(path, signal) {
  const res = await fetch(path, { headers: headers({ Accept: 'application/json' }), signal, cache: 'no-store' });
  if (!res.ok) throw await apiError(res);
  return res.json();
}

// getAll follows a history's pages (next_after) and returns every item.
export async function getAll(path, signal) {
  const items = [];
  for (let after = 0; ;) {
    const page = await get(`${path}?after=${after}&limit=1000`, signal);
    items.push(...page.items);
    if (!page.next_after) return items;
    after = page.next_after;
  }
}

export async function apiError(res) {
  let problem = null;
  try {
    problem = await res.json();
  } catch {
    // not a problem document (a proxy's page, a cut connection)
  }
  return new ApiError(res.status, problem);
}

// explain says in words why a read failed; what is what the page tried, e.g.
// "see the consumers".
export function explain(err, what) {
  if (!(err instanceof ApiError)) return `The API cannot be reached: ${err.message}`;
  switch (err.status) {
    case 401:
      return 'The token was refused (missing, expired or invalid): forget it and paste another.';
    case 403:
      return `This token may not ${what}.`;
    case 404:
      return 'Not found: nothing has this id, or this token may not see it.';
    default:
      return `The API answered ${err.status}: ${err.message}`;
  }
}
