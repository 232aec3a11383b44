// Herald's customer portal: one small script, no framework, working from Herald's own v3 API
// with the session cookie (writes carry the session's CSRF token). Every control has a
// visible label or an accessible name. The DOM is built from nodes, never from HTML text,
// so nothing from the API is ever interpreted as markup.

const API = '/api/v3/event-subscriptions';
const main = document.getElementById('main');
const params = new URLSearchParams(location.search);
const embedded = params.get('embed') === '1';

/** @type {{organization: {id: number, name: string}, capabilities: string[], theme: any, csrf_token: string} | null} */
let session = null;
let catalogCache = null;

// ---- DOM helpers ----------------------------------------------------------------------

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) if (c !== null && c !== undefined && c !== false) el.append(c instanceof Node ? c : String(c));
  return el;
}

let fieldIds = 0;
/** A labelled field; `pointer` ties it to the API's error source (e.g. /data/configuration/url). */
function field(label, control, pointer) {
  const id = `f${++fieldIds}`;
  control.id = id;
  const error = h('div', { class: 'error', id: `${id}-error`, role: 'alert' });
  if (pointer) {
    control.dataset.pointer = pointer;
    error.dataset.errorFor = pointer;
  }
  control.setAttribute('aria-describedby', error.id);
  return h('div', { class: 'field' }, h('label', { for: id }, label), control, error);
}

function select(options, value) {
  const s = h('select', {});
  for (const [v, text] of options) s.append(h('option', { value: v, selected: v === value }, text));
  return s;
}

const can = (capability) => !!session && session.capabilities.includes(capability);
const when = (iso) => (iso ? new Date(iso).toLocaleString() : '—');
const status = (s) => h('span', { class: `status ${s}` }, s.replace(/_/g, ' '));

function show(...nodes) {
  main.replaceChildren(...nodes.flat().filter((n) => n !== null && n !== undefined && n !== false));
}

function notice(text, kind) {
  return h('div', { class: kind === 'error' ? 'notice error' : 'notice', role: kind === 'error' ? 'alert' : 'status' }, text);
}

// ---- API ------------------------------------------------------------------------------

async function api(method, path, body) {
  const headers = { accept: 'application/json' };
  if (method !== 'GET') headers['x-csrf-token'] = session ? session.csrf_token : '';
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(path.startsWith('/') && !path.startsWith(API) && !path.startsWith('/portal') ? API + path : path, {
    method,
    headers,
    credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null;
  }
  if (response.status === 401 && session) {
    session = null;
    renderSignIn('Your session has ended; sign in again.');
    throw new Error('signed out');
  }
  return { status: response.status, ok: response.ok, body: json };
}

function errorsOf(result) {
  return (result.body && Array.isArray(result.body.errors) ? result.body.errors : [{ detail: `Request failed (${result.status}).` }]);
}

/** Puts each API error at the field its pointer names; the rest at the form's top. */
function showErrors(form, result) {
  for (const el of form.querySelectorAll('[data-error-for]')) el.textContent = '';
  for (const el of form.querySelectorAll('[aria-invalid]')) el.removeAttribute('aria-invalid');
  const general = form.querySelector('.form-error');
  general.textContent = '';
  for (const e of errorsOf(result)) {
    const pointer = e.source && e.source.pointer;
    const slot = pointer ? form.querySelector(`[data-error-for="${CSS.escape(pointer)}"]`) : null;
    if (slot) {
      slot.textContent = e.detail;
      const control = form.querySelector(`[data-pointer="${CSS.escape(pointer)}"]`);
      if (control) control.setAttribute('aria-invalid', 'true');
    } else {
      general.textContent += `${general.textContent ? ' ' : ''}${e.detail}`;
    }
  }
}

async function catalog() {
  if (!catalogCache) catalogCache = (await api('GET', '/event-types')).body.data;
  return catalogCache;
}

// ---- Sign-in --------------------------------------------------------------------------

function renderSignIn(message) {
  document.getElementById('top').hidden = true;
  const publicKey = h('input', { autocomplete: 'username', required: true });
  const secretKey = h('input', { type: 'password', autocomplete: 'current-password', required: true });
  const error = h('div', { class: 'error form-error', role: 'alert' }, message || '');
  const form = h(
    'form',
    { class: 'stack', 'aria-label': 'Sign in' },
    h('h1', {}, 'Sign in'),
    h('p', { class: 'muted' }, 'Use your organization’s API key pair, or the link your platform gave you.'),
    field('Public key', publicKey),
    field('Secret key', secretKey),
    error,
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Sign in')),
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const result = await api('POST', '/portal/api/sign-in', { public_key: publicKey.value, secret_key: secretKey.value });
    if (result.ok) return start();
    error.textContent = errorsOf(result)[0].detail;
  });
  show(form);
}

async function start() {
  const result = await fetch('/portal/api/session', { credentials: 'same-origin' });
  if (!result.ok) {
    return renderSignIn(params.get('error') === 'link' ? 'This sign-in link has expired or was already used.' : '');
  }
  session = (await result.json()).data;
  applyTheme(session.theme || {});
  const top = document.getElementById('top');
  top.hidden = embedded;
  document.getElementById('brand').textContent = session.organization.name;
  route();
}

function applyTheme(theme) {
  const root = document.documentElement;
  if (theme.accent_color) root.style.setProperty('--accent', theme.accent_color);
  root.classList.toggle('dark', theme.dark === true);
  const logo = document.getElementById('logo');
  if (theme.logo_url) {
    logo.src = theme.logo_url;
    logo.alt = 'Logo';
    logo.hidden = false;
  }
}

document.getElementById('sign-out').addEventListener('click', async () => {
  await api('POST', '/portal/api/sign-out');
  session = null;
  renderSignIn('Signed out.');
});

// ---- Router ---------------------------------------------------------------------------

function route() {
  if (!session) return;
  const hash = location.hash.replace(/^#/, '') || '/connections';
  const [path, query] = hash.split('?');
  const q = new URLSearchParams(query || '');
  for (const a of document.querySelectorAll('.top nav a')) {
    a.classList.toggle('current', path.startsWith(a.getAttribute('href').slice(1)));
    if (a.classList.contains('current')) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  let m;
  const done = (p) => Promise.resolve(p).catch((e) => e.message !== 'signed out' && show(notice(String(e.message || e), 'error')));
  if (path === '/connections') return done(renderConnections());
  if (path === '/connections/new') return done(renderConnectionForm(null));
  if ((m = /^\/connections\/(\d+)\/edit$/.exec(path))) return done(renderConnectionForm(Number(m[1])));
  if ((m = /^\/connections\/(\d+)$/.exec(path))) return done(renderConnection(Number(m[1])));
  if (path === '/catalog') return done(renderCatalog());
  if (path === '/deliveries') return done(renderDeliveries(q));
  if ((m = /^\/deliveries\/(\d+)$/.exec(path))) return done(renderDelivery(Number(m[1])));
  show(notice('Not found.', 'error'));
}

window.addEventListener('hashchange', route);
const go = (hash) => {
  if (location.hash === hash) route();
  else location.hash = hash;
};

// ---- Connections ----------------------------------------------------------------------

const urlOf = (c) => (c.type === 'webhook' ? c.configuration.url : 'Klaviyo account');

async function renderConnections() {
  const [list, activity] = await Promise.all([api('GET', '/connections'), api('GET', '/connections/activity')]);
  const totals = new Map(activity.body.data.map((a) => [a.connection_id, a]));
  const rows = list.body.data.map((c) => {
    const t = totals.get(c.id);
    const total = t ? t.succeeded + t.failed : 0;
    return h(
      'tr',
      {},
      h('td', {}, c.type),
      h('td', {}, h('a', { href: `#/connections/${c.id}` }, urlOf(c))),
      h('td', {}, status(c.status)),
      h('td', { class: 'num' }, t && t.success_rate !== null ? `${Math.round(t.success_rate * 1000) / 10}%` : '—'),
      h('td', { class: 'num' }, String(total)),
    );
  });
  show(
    h('h1', {}, 'Connections'),
    can('manage_connections') ? h('div', { class: 'actions' }, h('button', { type: 'button', onclick: () => go('#/connections/new') }, 'Add connection')) : null,
    rows.length === 0
      ? h('p', { class: 'muted' }, 'No connections yet.')
      : h(
          'table',
          { 'aria-label': 'Connections' },
          h('thead', {}, h('tr', {}, h('th', {}, 'Type'), h('th', {}, 'URL'), h('th', {}, 'Status'), h('th', { class: 'num' }, 'Success rate (24 h)'), h('th', { class: 'num' }, 'Deliveries (24 h)'))),
          h('tbody', {}, rows),
        ),
  );
}

const AUTH_FIELDS = {
  none: [],
  bearer: [['token', 'Token', 'password']],
  basic: [['username', 'Username', 'text'], ['password', 'Password', 'password']],
  api_key: [['header_name', 'Header name', 'text'], ['api_key', 'API key', 'password']],
};

async function renderConnectionForm(id) {
  const existing = id ? (await api('GET', `/connections/${id}`)).body.data : null;
  const config = existing ? existing.configuration : {};
  const type = select([['webhook', 'Webhook'], ['klaviyo', 'Klaviyo']], existing ? existing.type : 'webhook');
  if (existing) type.disabled = true;
  const url = h('input', { type: 'url', value: config.url || '', inputmode: 'url' });
  const authType = select([['none', 'None'], ['bearer', 'Bearer token'], ['basic', 'Basic'], ['api_key', 'API key header']], config.auth_type || 'none');
  const authBox = h('div', { class: 'stack' });
  const retry = h('input', { type: 'number', value: config.retry_attempts ?? 5, min: 0, max: 10 });
  const timeout = h('input', { type: 'number', value: config.timeout_ms ?? 10000, min: 1000, step: 500 });
  const headerRows = h('div', { class: 'stack' });
  const authInputs = {};
  let authTouched = !existing;

  const renderAuth = () => {
    authBox.replaceChildren();
    for (const key of Object.keys(authInputs)) delete authInputs[key];
    for (const [key, label, kind] of AUTH_FIELDS[authType.value]) {
      const input = h('input', { type: kind, autocomplete: 'off', placeholder: existing && !authTouched ? 'unchanged' : '' });
      input.addEventListener('input', () => (authTouched = true));
      authInputs[key] = input;
      authBox.append(field(label, input, `/data/configuration/auth_config/${key}`));
    }
  };
  authType.addEventListener('change', () => {
    authTouched = true;
    renderAuth();
  });
  renderAuth();

  const addHeader = (name = '', value = '') => {
    const n = h('input', { value: name, 'aria-label': 'Extra header name' });
    const v = h('input', { value, 'aria-label': 'Extra header value' });
    const row = h('div', { class: 'headers-row' }, n, v, h('button', { type: 'button', class: 'quiet', onclick: () => row.remove() }, 'Remove header'));
    row.dataset.header = '1';
    headerRows.append(row);
  };
  for (const [n, v] of Object.entries(config.extra_headers || {})) addHeader(n, v);

  const webhookFields = h(
    'div',
    { class: 'stack' },
    field('URL', url, '/data/configuration/url'),
    field('Auth type', authType, '/data/configuration/auth_type'),
    authBox,
    h('fieldset', {}, h('legend', {}, 'Extra headers'), headerRows, h('div', { class: 'error', 'data-error-for': '/data/configuration/extra_headers' }), h('button', { type: 'button', class: 'quiet', onclick: () => addHeader() }, 'Add header')),
    field('Retry attempts', retry, '/data/configuration/retry_attempts'),
    field('Timeout (ms)', timeout, '/data/configuration/timeout_ms'),
  );
  const syncType = () => (webhookFields.hidden = type.value !== 'webhook');
  type.addEventListener('change', syncType);
  syncType();

  const form = h(
    'form',
    { class: 'stack', 'aria-label': existing ? 'Edit connection' : 'Add connection', novalidate: true },
    h('h1', {}, existing ? `Edit connection #${existing.id}` : 'Add connection'),
    field('Type', type, '/data/type'),
    webhookFields,
    h('div', { class: 'error form-error', role: 'alert' }),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Save'), h('a', { href: existing ? `#/connections/${existing.id}` : '#/connections' }, 'Cancel')),
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    let body;
    if (type.value === 'klaviyo') body = { type: 'klaviyo', configuration: {} };
    else {
      const configuration = { url: url.value, auth_type: authType.value, retry_attempts: Number(retry.value), timeout_ms: Number(timeout.value) };
      if (authTouched) configuration.auth_config = Object.fromEntries(Object.entries(authInputs).map(([k, input]) => [k, input.value]));
      const headers = {};
      for (const row of headerRows.querySelectorAll('[data-header]')) {
        const [n, v] = row.querySelectorAll('input');
        if (n.value) headers[n.value] = v.value;
      }
      configuration.extra_headers = headers;
      body = existing ? { configuration } : { type: 'webhook', configuration };
    }
    const result = existing ? await api('PATCH', `/connections/${existing.id}`, body) : await api('POST', '/connections', body);
    if (!result.ok) return showErrors(form, result);
    go(`#/connections/${result.body.data.id}`);
  });
  show(form);
}

async function renderConnection(id) {
  const [c, subs, types] = await Promise.all([api('GET', `/connections/${id}`), api('GET', '/subscriptions'), catalog()]);
  if (!c.ok) return show(notice(errorsOf(c)[0].detail, 'error'));
  const connection = c.body.data;
  const subscriptions = subs.body.data.filter((s) => s.connection_id === id);
  const message = h('div', { 'aria-live': 'polite' });
  const say = (text, kind) => message.replaceChildren(notice(text, kind));
  const act = async (method, path, body, done) => {
    const result = await api(method, path, body);
    if (!result.ok) return say(errorsOf(result).map((e) => e.detail).join(' '), 'error');
    if (done) done(result);
    else renderConnection(id);
  };

  const manage = can('manage_connections');
  const actions = h('div', { class: 'actions' });
  if (manage) {
    actions.append(h('button', { type: 'button', class: 'quiet', onclick: () => go(`#/connections/${id}/edit`) }, connection.type === 'webhook' ? 'Edit' : 'Edit connection'));
    if (connection.type === 'klaviyo') {
      actions.append(
        h('button', {
          type: 'button',
          onclick: async () => {
            // Opened now, within the click, so that no popup blocker stops it; pointed at Klaviyo once known.
            const popup = window.open('', '_blank');
            const result = await api('POST', `/connections/${id}/authorization`);
            if (!result.ok) {
              if (popup) popup.close();
              return say(errorsOf(result)[0].detail, 'error');
            }
            if (popup) popup.location.href = result.body.data.authorization_url;
            else location.href = result.body.data.authorization_url;
            say('Finish in the Klaviyo window; this page updates when you come back.');
            window.addEventListener('focus', () => renderConnection(id), { once: true });
          },
        }, 'Connect Klaviyo'),
      );
    }
    if (connection.status === 'disabled') actions.append(h('button', { type: 'button', onclick: () => act('POST', `/connections/${id}/enable`, { deliver_backlog: true }) }, 'Enable'));
    else actions.append(h('button', { type: 'button', class: 'quiet', onclick: () => act('POST', `/connections/${id}/disable`) }, 'Disable'));
    actions.append(
      h('button', {
        type: 'button',
        class: 'danger',
        onclick: () => {
          if (!window.confirm(`Delete this connection and its ${subscriptions.length} subscription(s)? This cannot be undone.`)) return;
          act('DELETE', `/connections/${id}`, undefined, () => go('#/connections'));
        },
      }, 'Delete connection'),
    );
  }

  show(
    h('p', {}, h('a', { href: '#/connections' }, '← Connections')),
    h('h1', {}, `${connection.type === 'webhook' ? 'Webhook' : 'Klaviyo'} connection #${connection.id}`),
    h(
      'dl',
      { class: 'panel' },
      h('dt', {}, 'URL'), h('dd', {}, urlOf(connection)),
      h('dt', {}, 'Status'), h('dd', {}, status(connection.status), connection.status_reason ? ` ${connection.status_reason}` : ''),
      h('dt', {}, 'Last success'), h('dd', {}, when(connection.last_success_at)),
      h('dt', {}, 'Last failure'), h('dd', {}, when(connection.last_failure_at)),
    ),
    actions,
    message,
    await activityChart(id),
    h('h2', {}, 'Subscriptions'),
    subscriptionsTable(id, subscriptions, types, say, act),
    manage ? addSubscriptionForm(id, types, subscriptions, act) : null,
    h('p', {}, h('a', { href: `#/deliveries?connection_id=${id}` }, 'Deliveries of this connection')),
    connection.type === 'webhook' ? secretPanel(id) : null,
  );
}

function subscriptionsTable(connectionId, subscriptions, types, say, act) {
  if (subscriptions.length === 0) return h('p', { class: 'muted' }, 'No subscriptions yet.');
  const rows = subscriptions.map((s) => {
    const buttons = h('div', { class: 'actions' });
    const output = h('div', { 'aria-live': 'polite' });
    if (can('manage_connections')) {
      buttons.append(
        h('button', { type: 'button', class: 'quiet', onclick: () => act('PATCH', `/subscriptions/${s.id}`, { is_active: !s.is_active }) }, s.is_active ? 'Pause' : 'Resume'),
        h('button', {
          type: 'button',
          onclick: async () => {
            output.replaceChildren(h('span', { class: 'muted' }, 'Sending…'));
            const result = await api('POST', `/broadcast/test/${s.id}`);
            if (!result.ok) return output.replaceChildren(notice(errorsOf(result)[0].detail, 'error'));
            const t = result.body.data;
            output.replaceChildren(
              h('div', { class: 'panel', role: 'status', 'aria-label': 'Test result' }, h('strong', {}, `Status ${t.status_code}`), t.success ? ' — delivered' : ' — not accepted', h('pre', {}, t.response_body || '(empty body)')),
            );
          },
        }, 'Send test event'),
        h('button', {
          type: 'button',
          class: 'danger',
          onclick: () => window.confirm(`Delete the subscription to ${s.event_type}?`) && act('DELETE', `/subscriptions/${s.id}`),
        }, 'Delete subscription'),
      );
    }
    if (can('retry')) {
      const since = h('input', { type: 'datetime-local', 'aria-label': `Recover failed since (${s.event_type})` });
      since.value = new Date(Date.now() - 86_400_000 - new Date().getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
      buttons.append(
        since,
        h('button', {
          type: 'button',
          class: 'quiet',
          onclick: () =>
            act('POST', `/subscriptions/${s.id}/recover`, { since: new Date(since.value).toISOString() }, (r) =>
              say(`${r.body.data.requeued} failed deliveries queued again.`),
            ),
        }, 'Recover failed since…'),
      );
    }
    const described = types.find((t) => t.name === s.event_type);
    return h('tr', { 'data-subscription': s.id }, h('td', {}, s.event_type, described ? h('div', { class: 'muted' }, described.description) : null), h('td', {}, s.is_active ? status('active') : status('paused')), h('td', {}, buttons, output));
  });
  void connectionId;
  return h('table', { 'aria-label': 'Subscriptions' }, h('thead', {}, h('tr', {}, h('th', {}, 'Event type'), h('th', {}, 'State'), h('th', {}, 'Actions'))), h('tbody', {}, rows));
}

function addSubscriptionForm(connectionId, types, subscriptions, act) {
  const taken = new Set(subscriptions.map((s) => s.event_type));
  const free = types.filter((t) => !taken.has(t.name));
  if (free.length === 0) return null;
  const eventType = select(free.map((t) => [t.name, t.name]), free[0].name);
  const form = h('form', { class: 'actions', 'aria-label': 'Add subscription' }, field('Event type', eventType), h('button', { type: 'submit' }, 'Add subscription'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    act('POST', '/subscriptions', { connection_id: connectionId, event_type: eventType.value });
  });
  return form;
}

function secretPanel(id) {
  const out = h('div', { 'aria-live': 'polite' });
  const buttons = h('div', { class: 'actions' });
  if (can('view_secrets')) {
    buttons.append(
      h('button', {
        type: 'button',
        class: 'quiet',
        onclick: async () => {
          const result = await api('GET', `/connections/${id}/secret`);
          if (!result.ok) return out.replaceChildren(notice(errorsOf(result)[0].detail, 'error'));
          out.replaceChildren(h('code', { class: 'secret', 'aria-label': 'Signing secret' }, result.body.data.secret));
        },
      }, 'Reveal secret'),
    );
  }
  if (can('manage_secrets')) {
    buttons.append(
      h('button', {
        type: 'button',
        onclick: async () => {
          if (!window.confirm('Rotate the signing secret? The current one keeps working for 24 hours.')) return;
          const result = await api('POST', `/connections/${id}/secret/rotate`);
          if (!result.ok) return out.replaceChildren(notice(errorsOf(result)[0].detail, 'error'));
          const d = result.body.data;
          out.replaceChildren(
            notice(`Secret rotated. The previous secret stays valid until ${when(d.previous_secret_expires_at)}: during that time every webhook is signed with both, so your receiver can switch to the new secret without missing one.`),
            can('view_secrets') ? h('code', { class: 'secret', 'aria-label': 'Signing secret' }, d.secret) : null,
          );
        },
      }, 'Rotate secret'),
    );
  }
  return h(
    'section',
    { 'aria-label': 'Signing secret' },
    h('h2', {}, 'Signing secret'),
    h('p', { class: 'muted' }, 'Each webhook carries a signature made with this secret (Standard Webhooks). After a rotation the old secret still signs for 24 hours, so receivers can change over without losing a delivery.'),
    buttons,
    out,
  );
}

async function activityChart(id, range = '24h') {
  const section = h('section', { 'aria-label': 'Activity' });
  const draw = async (r) => {
    const result = await api('GET', `/connections/${id}/activity?range=${r}`);
    const { buckets, succeeded, failed } = result.body.data;
    const max = Math.max(1, ...buckets.map((b) => b.succeeded + b.failed));
    const W = 600;
    const H = 140;
    const bw = W / buckets.length;
    const svgNs = 'http://www.w3.org/2000/svg';
    const svg = document.createElementNS(svgNs, 'svg');
    svg.setAttribute('viewBox', `0 0 ${W} ${H}`);
    svg.setAttribute('class', 'chart');
    svg.setAttribute('role', 'img');
    svg.setAttribute('aria-label', `Deliveries over the last ${r === '24h' ? '24 hours' : '7 days'}: ${succeeded} succeeded, ${failed} failed`);
    buckets.forEach((b, i) => {
      const okH = (b.succeeded / max) * (H - 4);
      const badH = (b.failed / max) * (H - 4);
      for (const [height, y, cls] of [[okH, H - okH, 'ok'], [badH, H - okH - badH, 'bad']]) {
        if (height <= 0) continue;
        const rect = document.createElementNS(svgNs, 'rect');
        rect.setAttribute('x', String(i * bw + 1));
        rect.setAttribute('width', String(Math.max(1, bw - 2)));
        rect.setAttribute('y', String(y));
        rect.setAttribute('height', String(height));
        rect.setAttribute('class', cls);
        const title = document.createElementNS(svgNs, 'title');
        title.textContent = `${new Date(b.start).toLocaleString()}: ${b.succeeded} succeeded, ${b.failed} failed`;
        rect.append(title);
        svg.append(rect);
      }
    });
    const toggle = (value, label) => h('button', { type: 'button', 'aria-pressed': String(value === r), onclick: () => draw(value) }, label);
    section.replaceChildren(
      h('h2', {}, 'Activity'),
      h('div', { class: 'actions' }, toggle('24h', 'Last 24 hours'), toggle('7d', 'Last 7 days')),
      svg,
      h('div', { class: 'legend' }, h('span', { class: 'ok' }, `${succeeded} succeeded`), h('span', { class: 'bad' }, `${failed} failed`)),
    );
  };
  await draw(range);
  return section;
}

// ---- Event catalog --------------------------------------------------------------------

function schemaTree(schema, required = []) {
  const props = (schema && schema.properties) || {};
  const items = Object.entries(props).map(([name, s]) => {
    const type = Array.isArray(s.type) ? s.type.join(' | ') : s.type || (s.enum ? 'enum' : 'any');
    return h(
      'li',
      {},
      h('code', {}, name),
      ' ',
      h('span', { class: 'type' }, type + (s.enum ? ` (${s.enum.join(', ')})` : '') + (s.format ? `, ${s.format}` : '')),
      required.includes(name) ? h('span', { class: 'req' }, ' required') : null,
      s.description ? h('div', { class: 'muted' }, s.description) : null,
      s.properties ? schemaTree(s, s.required || []) : null,
      s.items && s.items.properties ? h('div', {}, h('span', { class: 'type' }, 'each item:'), schemaTree(s.items, s.items.required || [])) : null,
    );
  });
  return items.length ? h('ul', { class: 'tree' }, items) : h('p', { class: 'muted' }, 'Any JSON object.');
}

async function renderCatalog() {
  const types = await catalog();
  show(
    h('h1', {}, 'Event catalog'),
    ...types.map((t) =>
      h('section', { class: 'panel', 'aria-label': t.name }, h('h2', {}, t.name), h('p', {}, t.description || ''), h('h3', {}, 'Schema'), schemaTree(t.schema, (t.schema && t.schema.required) || []), h('h3', {}, 'Sample'), h('pre', {}, JSON.stringify(t.sample, null, 2))),
    ),
  );
}

// ---- Deliveries -----------------------------------------------------------------------

async function renderDeliveries(q) {
  const [connections, subscriptions] = await Promise.all([api('GET', '/connections'), api('GET', '/subscriptions')]);
  const subs = new Map(subscriptions.body.data.map((s) => [s.id, s]));
  const query = new URLSearchParams();
  for (const key of ['status', 'connection_id', 'subscription_id', 'cursor']) if (q.get(key)) query.set(key, q.get(key));
  query.set('limit', '50');
  const list = await api('GET', `/deliveries?${query}`);
  if (!list.ok) return show(notice(errorsOf(list)[0].detail, 'error'));

  const statusSel = select([['', 'Any'], ['pending', 'Pending'], ['parked', 'Waiting'], ['succeeded', 'Succeeded'], ['failed', 'Failed']], q.get('status') || '');
  const connSel = select([['', 'Any'], ...connections.body.data.map((c) => [String(c.id), `#${c.id} ${urlOf(c)}`])], q.get('connection_id') || '');
  const subSel = select([['', 'Any'], ...subscriptions.body.data.map((s) => [String(s.id), `${s.event_type} (connection #${s.connection_id})`])], q.get('subscription_id') || '');
  const filters = h('form', { class: 'filters', 'aria-label': 'Filter deliveries' }, field('Status', statusSel), field('Connection', connSel), field('Event type', subSel), h('button', { type: 'submit' }, 'Filter'));
  filters.addEventListener('submit', (event) => {
    event.preventDefault();
    const next = new URLSearchParams();
    if (statusSel.value) next.set('status', statusSel.value);
    if (connSel.value) next.set('connection_id', connSel.value);
    if (subSel.value) next.set('subscription_id', subSel.value);
    go(`#/deliveries?${next}`);
  });
  const rows = list.body.data.map((d) =>
    h('tr', {}, h('td', {}, h('a', { href: `#/deliveries/${d.id}` }, `#${d.id}`)), h('td', {}, subs.get(d.subscription_id)?.event_type || '—'), h('td', {}, `#${d.connection_id}`), h('td', {}, status(d.status)), h('td', { class: 'num' }, String(d.attempt_count)), h('td', {}, d.last_status_code ?? ''), h('td', {}, when(d.created_at))),
  );
  const next = list.body.meta && list.body.meta.next_cursor;
  const more = new URLSearchParams(q);
  if (next) more.set('cursor', next);
  show(
    h('h1', {}, 'Deliveries'),
    filters,
    rows.length === 0
      ? h('p', { class: 'muted' }, 'No deliveries match.')
      : h('table', { 'aria-label': 'Deliveries' }, h('thead', {}, h('tr', {}, h('th', {}, 'Delivery'), h('th', {}, 'Event type'), h('th', {}, 'Connection'), h('th', {}, 'Status'), h('th', { class: 'num' }, 'Attempts'), h('th', {}, 'Last status'), h('th', {}, 'Created'))), h('tbody', {}, rows)),
    next ? h('p', {}, h('a', { href: `#/deliveries?${more}` }, 'Older deliveries')) : null,
  );
}

async function renderDelivery(id) {
  const result = await api('GET', `/deliveries/${id}`);
  if (!result.ok) return show(notice(errorsOf(result)[0].detail, 'error'));
  const d = result.body.data;
  const message = h('div', { 'aria-live': 'polite' });
  const attempts = d.attempts.map((a) =>
    h(
      'article',
      { class: 'attempt', 'aria-label': `Attempt ${a.number}` },
      h('h3', {}, `Attempt ${a.number}`),
      h(
        'dl',
        {},
        h('dt', {}, 'Time'), h('dd', {}, when(a.started_at)),
        h('dt', {}, 'Duration'), h('dd', {}, `${a.duration_ms} ms`),
        h('dt', {}, 'URL'), h('dd', {}, a.url),
        h('dt', {}, 'Response status'), h('dd', {}, a.response_status === null ? `no response${a.error ? ` (${a.error})` : ''}` : String(a.response_status)),
        h('dt', {}, 'Request headers'), h('dd', {}, h('pre', {}, Object.entries(a.request_headers).map(([k, v]) => `${k}: ${v}`).join('\n'))),
        h('dt', {}, 'Response body'), h('dd', {}, h('pre', { 'aria-label': `Response body of attempt ${a.number}` }, a.response_body || '(empty)')),
      ),
    ),
  );
  show(
    h('p', {}, h('a', { href: '#/deliveries' }, '← Deliveries')),
    h('h1', {}, `Delivery #${d.id}`),
    h('p', {}, 'Status: ', status(d.status), ` · ${d.attempt_count} attempt(s) · connection `, h('a', { href: `#/connections/${d.connection_id}` }, `#${d.connection_id}`)),
    can('retry')
      ? h('div', { class: 'actions' }, h('button', {
          type: 'button',
          onclick: async () => {
            const r = await api('POST', `/deliveries/${id}/retry`);
            if (!r.ok) return message.replaceChildren(notice(errorsOf(r)[0].detail, 'error'));
            message.replaceChildren(notice('Queued again; refreshing…'));
            // The attempt goes out within moments: show it when it is in.
            for (let i = 0; i < 20; i++) {
              await new Promise((resolve) => setTimeout(resolve, 500));
              const again = await api('GET', `/deliveries/${id}`);
              if (again.ok && again.body.data.status !== 'pending') return renderDelivery(id);
            }
            renderDelivery(id);
          },
        }, 'Retry'))
      : null,
    message,
    h('h2', {}, 'Attempts'),
    attempts.length ? attempts : h('p', { class: 'muted' }, 'No attempt yet.'),
  );
}

start();
