// The console's browser script (plain ES module, no build step): sign-in, live list over SSE, approve/deny with CSRF header. Data only ever via textContent.
// Written without template literals so it can live in this TypeScript string unescaped.

export const CONSOLE_JS = String.raw`
const state = { identity: null, csrf: null, requests: new Map(), source: null };
const $ = (id) => document.getElementById(id);
const FINAL = new Set(['approved', 'denied', 'expired', 'withdrawn']);

function el(tag, attrs, children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'text') node.textContent = String(v);
    else if (k === 'class') node.className = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of [].concat(children || [])) if (c) node.append(c);
  return node;
}

// ---- sign-in -------------------------------------------------------------
async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (method !== 'GET' && state.csrf) headers['X-CSRF-Token'] = state.csrf;
  const res = await fetch(path, { method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body) });
  let data = null;
  if (res.status !== 204) { try { data = await res.json(); } catch { data = null; } }
  return { status: res.status, ok: res.ok, data };
}

async function signIn(token) {
  const r = await api('POST', '/api/session', { token });
  if (!r.ok) {
    showSignIn((r.data && r.data.error && r.data.error.message) || 'Sign-in failed (HTTP ' + r.status + ')');
    return;
  }
  started(r.data);
}

function showSignIn(message) {
  if (state.source) { state.source.close(); state.source = null; }
  state.identity = null; state.csrf = null;
  $('app').hidden = true; $('who').hidden = true; $('sign-in').hidden = false;
  const err = $('sign-in-error');
  err.hidden = !message; err.textContent = message || '';
  $('token').focus();
}

function started(session) {
  state.identity = session.identity; state.csrf = session.csrf_token;
  $('identity').textContent = session.identity;
  $('sign-in').hidden = true; $('who').hidden = false; $('app').hidden = false;
  connect();
  loadSuggestions();
  clearInterval(state.suggestionsInterval);
  state.suggestionsInterval = setInterval(loadSuggestions, 5 * 60 * 1000);
  loadTeams();
}

// ---- Teams: where cards go, and the conversation ids to configure ----------
async function loadTeams() {
  const r = await api('GET', '/api/teams/conversations');
  if (!r.ok || !r.data || r.data.enabled === false) { $('teams').hidden = true; return; }
  const configured = r.data.configured_conversation_id;
  const list = r.data.conversations || [];
  const here = list.find((c) => c.configured);
  const where = (c) => c.team_name ? c.team_name + (c.channel_name ? ' › ' + c.channel_name : '') : (c.conversation_type === 'groupChat' ? 'group chat' : c.conversation_type);
  $('teams-status').textContent = !configured
    ? 'No channel is configured: set teams.conversation_id (PGWARDEN_TEAMS_CONVERSATION_ID) to one of the ids below and restart pgwarden.'
    : here ? 'Approval cards go to ' + where(here) + '.'
    : 'Approval cards go to ' + configured + ', where the bot has not been seen yet: add the pgwarden app to that channel (or use one of the ids below).';
  const rows = list.map((c) => el('tr', { 'data-testid': 'teams-conversation' }, [
    el('td', { text: where(c) + (c.configured ? ' (configured)' : '') }),
    el('td', {}, el('code', { text: c.conversation_id })),
    el('td', { class: 'small', text: formatTime(c.captured_at) }),
  ]));
  $('teams-conversations').replaceChildren(...rows);
  $('teams-empty').hidden = rows.length > 0;
  $('teams-table').hidden = rows.length === 0;
  $('teams').hidden = false;
}

// ---- live updates ---------------------------------------------------------
function setLive(s, text) { const l = $('live'); l.dataset.state = s; l.textContent = text; }

function connect() {
  if (state.source) state.source.close();
  setLive('connecting', 'connecting…');
  // Same-origin EventSource sends the HttpOnly session cookie; no token ever appears in a URL.
  const source = new EventSource('/api/events');
  state.source = source;
  source.addEventListener('open', () => setLive('live', 'live'));
  source.addEventListener('snapshot', (e) => {
    const snap = JSON.parse(e.data);
    state.requests.clear();
    for (const r of snap.recent) state.requests.set(r.id, r);
    for (const r of snap.pending) state.requests.set(r.id, r);
    render(null);
    setLive('live', 'live');
    focusLinked();
  });
  source.addEventListener('request', (e) => {
    const r = JSON.parse(e.data);
    const known = state.requests.get(r.id);
    if (known && !isNewer(r, known)) return;
    state.requests.set(r.id, r);
    render(r.id);
    if (FINAL.has(r.status)) scheduleSuggestions(2000);
  });
  source.addEventListener('error', async () => {
    setLive('reconnecting', 'reconnecting…');
    if (source.readyState === EventSource.CLOSED) {
      // The server refused the stream: most likely the session ended.
      const s = await api('GET', '/api/session');
      if (s.status === 401) showSignIn('Your session ended; sign in again.');
      else setTimeout(connect, 3000);
    }
  });
}

// Events can arrive out of order relative to the snapshot: a final state or more votes is newer.
function isNewer(a, b) {
  if (FINAL.has(b.status) && !FINAL.has(a.status)) return false;
  if (FINAL.has(a.status) && !FINAL.has(b.status)) return true;
  return (a.decisions || []).length >= (b.decisions || []).length;
}

// ---- rendering ------------------------------------------------------------
const cards = new Map();

function render(changedId) {
  const all = [...state.requests.values()];
  const pending = all.filter((r) => r.status === 'pending').sort((a, b) => a.created_at.localeCompare(b.created_at));
  const pendingIds = new Set(pending.map((r) => r.id));
  for (const [id, card] of cards) if (!pendingIds.has(id)) { card.remove(); cards.delete(id); }
  const list = $('pending');
  for (const r of pending) {
    let card = cards.get(r.id);
    if (!card) {
      card = renderCard(r);
      cards.set(r.id, card);
      if (changedId === r.id) card.classList.add('flash');
    } else {
      updateVotes(card, r);
    }
    list.append(card);
  }
  $('pending-count').textContent = String(pending.length);
  $('pending-empty').hidden = pending.length > 0;
  renderRecent(all.filter((r) => FINAL.has(r.status)));
  tick();
}

function renderCard(r) {
  const actor = r.actor || {};
  const card = el('article', { class: 'card request', 'data-id': r.id, 'data-testid': 'pending-request' });
  const head = el('div', { class: 'req-head' }, [
    ...(r.categories || []).map((c) => el('span', { class: 'chip cat-' + c, text: c })),
    el('span', { class: 'chip rule', text: 'rule: ' + (r.rule || 'default') }),
    el('span', { class: 'req-id mono', text: r.id }),
    el('span', { class: 'spacer' }),
    el('span', { class: 'countdown', 'data-expires': r.expires_at, text: '' }),
  ]);
  const facts = el('dl', { class: 'facts' });
  const fact = (k, v) => { if (v !== undefined && v !== null && v !== '') facts.append(el('dt', { text: k }), el('dd', {}, v instanceof Node ? v : el('span', { text: v }))); };
  fact('Requested by', el('span', {}, [el('strong', { text: actor.identity || actor.user || '?' }), actor.owner ? el('span', { class: 'small', text: ', owned by ' + actor.owner }) : null, actor.auth && actor.auth !== 'passthrough' ? el('span', { class: 'small', text: '  (' + actor.auth + (actor.groups && actor.groups.length ? '; groups ' + actor.groups.join(', ') : '') + ')' }) : null]));
  fact('Application', actor.application || '(none)');
  fact('Client address', el('span', { class: 'mono', text: actor.address || '?' }));
  fact('Database', el('span', { class: 'mono', text: r.database }));
  if (r.tables && r.tables.length) fact('Tables', el('span', { class: 'mono', text: r.tables.join(', ') }));
  fact('Requested', formatTime(r.created_at));
  const parts = [head];
  if (r.stated_reason) parts.push(el('p', { class: 'stated' }, [el('span', { class: 'label', text: 'Agent’s stated reason' }), el('span', { text: r.stated_reason })]));
  parts.push(el('pre', { class: 'sql', 'data-testid': 'sql', text: r.sql }));
  // The store keeps at most approvals.max_stored_sql bytes of a statement: say how much is missing and how to recognise the whole.
  if (r.sql_truncated) parts.push(el('p', { class: 'small mono', 'data-testid': 'sql-truncated', text: '… (' + (r.sql_length - new TextEncoder().encode(r.sql).length) + ' more bytes, sha256 ' + r.sql_sha256 + ')' }));
  if (r.normalized && r.normalized !== r.sql) parts.push(el('details', { class: 'normalized' }, [el('summary', { text: 'Normalized form' }), el('pre', { class: 'mono', text: r.normalized })]));
  parts.push(facts);
  if (r.rule_reason) parts.push(el('p', { class: 'why' }, [el('span', { class: 'label', text: 'Why held: ' }), el('span', { text: r.rule_reason })]));
  parts.push(el('div', { class: 'votes', 'data-role': 'votes' }));
  parts.push(renderDecide(r));
  card.append(...parts);
  updateVotes(card, r);
  return card;
}

function approverLine(r) {
  const who = (r.groups && r.groups.length ? r.groups.join(', ') : '') || (r.approvers && r.approvers.length ? r.approvers.join(', ') : 'any approver');
  const approvals = (r.decisions || []).filter((d) => d.decision === 'approve').length;
  return 'Approvers: ' + who + ' · ' + approvals + ' of ' + (r.quorum || 1) + ' approval' + ((r.quorum || 1) > 1 ? 's' : '') + ' needed';
}

function updateVotes(card, r) {
  const box = card.querySelector('[data-role=votes]');
  box.replaceChildren(el('div', { class: 'small', text: approverLine(r) }),
    ...(r.decisions || []).map((d) => el('div', { class: 'vote ' + d.decision, text: d.by + ' ' + (d.decision === 'approve' ? 'approved' : 'denied') + (d.reason ? ': ' + d.reason : '') + ' · ' + formatTime(d.at) })));
  const me = (state.identity || '').toLowerCase();
  const voted = (r.decisions || []).some((d) => d.by.toLowerCase() === me);
  if (voted) card.querySelectorAll('.decide button').forEach((b) => { b.disabled = true; });
}

function renderDecide(r) {
  const me = (state.identity || '').toLowerCase();
  const actor = r.actor || {};
  const mine = me === String(actor.user || '').toLowerCase() || me === String(actor.identity || '').toLowerCase() || (actor.owner && me === actor.owner.toLowerCase());
  const listed = !r.approvers || r.approvers.length === 0 || r.approvers.some((a) => a.toLowerCase() === me);
  const reason = el('textarea', { placeholder: 'Reason (shown to the agent and kept in the audit log)', 'aria-label': 'Reason', maxlength: 2000 });
  const error = el('p', { class: 'error', role: 'alert', hidden: true });
  const scopes = r.scopes && r.scopes.includes('fingerprint')
    ? el('div', { class: 'scopes' }, [
        el('label', {}, [el('input', { type: 'radio', name: 'scope-' + r.id, value: 'once', checked: true }), el('span', { text: 'This statement only' })]),
        el('label', {}, [el('input', { type: 'radio', name: 'scope-' + r.id, value: 'fingerprint' }), el('span', { text: 'Same statement shape from ' + (actor.user || 'this actor') + ' for ' + minutes((r.grant_ttl_seconds || 0) * 1000) })]),
      ])
    : null;
  const box = el('div', { class: 'decide' });
  const decide = async (decision, buttons) => {
    buttons.forEach((b) => { b.disabled = true; });
    error.hidden = true;
    const checked = box.querySelector('input[type=radio]:checked');
    const body = { decision, reason: reason.value.trim() };
    if (decision === 'approve' && checked) body.scope = checked.value;
    const res = await api('POST', '/api/approvals/' + encodeURIComponent(r.id) + '/decision', body);
    if (res.ok) { state.requests.set(res.data.id, res.data); render(null); return; }
    if (res.status === 401) { showSignIn('Your session ended; sign in again.'); return; }
    error.textContent = (res.data && res.data.error && res.data.error.message) || ('HTTP ' + res.status);
    error.hidden = false;
    buttons.forEach((b) => { b.disabled = false; });
  };
  const approve = el('button', { type: 'button', class: 'approve', text: 'Approve' });
  const deny = el('button', { type: 'button', class: 'deny', text: 'Deny' });
  approve.addEventListener('click', () => decide('approve', [approve, deny]));
  deny.addEventListener('click', () => decide('deny', [approve, deny]));
  if (mine) { approve.disabled = true; deny.disabled = true; box.append(el('p', { class: 'note', text: 'You made this request (or own the agent that did): another approver must decide.' })); }
  else if (!listed) { approve.disabled = true; deny.disabled = true; box.append(el('p', { class: 'note', text: 'You are not among the approvers for rule ' + (r.rule || 'default') + '.' })); }
  box.append(reason, el('div', { class: 'row' }, [approve, deny, scopes]), error);
  return box;
}

function renderRecent(final) {
  final.sort((a, b) => (b.decided_at || b.created_at).localeCompare(a.decided_at || a.created_at));
  const rows = final.slice(0, 25).map((r) => {
    const last = (r.decisions || []).slice(-1)[0];
    const by = r.status === 'approved' ? (r.decisions || []).filter((d) => d.decision === 'approve').map((d) => d.by).join(', ')
      : r.status === 'denied' && last ? last.by
      : r.status === 'withdrawn' ? (r.withdrawn_reason || 'client went away').replace(/_/g, ' ')
      : 'timed out';
    const why = r.status === 'denied' && last && last.reason ? last.reason : r.status === 'approved' && last && last.reason ? last.reason : '';
    return el('tr', { 'data-id': r.id, 'data-testid': 'recent-decision' }, [
      el('td', {}, el('span', { class: 'chip status-' + r.status, text: r.status })),
      el('td', { class: 'stmt' }, [el('code', { text: r.sql, title: r.sql }), el('span', { class: 'small mono', text: r.id })]),
      el('td', { text: (r.actor && (r.actor.identity || r.actor.user)) || '' }),
      el('td', {}, [el('div', { text: by }), why ? el('div', { class: 'small', text: '“' + why + '”' }) : null]),
      el('td', { class: 'small', text: formatTime(r.decided_at || r.created_at) }),
    ]);
  });
  $('recent').replaceChildren(...rows);
  $('recent-empty').hidden = rows.length > 0;
  $('recent-table').hidden = rows.length === 0;
}

// ---- links to one request (#/approvals/ID, as in the agent's waiting notice) ----
let focusedId = null;
async function focusLinked() {
  const m = /^#\/approvals\/([A-Za-z0-9_-]+)$/.exec(location.hash);
  if (!m || focusedId === m[1]) return;
  const id = m[1];
  focusedId = id;
  if (!state.requests.has(id)) {
    const r = await api('GET', '/api/approvals/' + encodeURIComponent(id));
    if (!r.ok) return;
    state.requests.set(id, r.data);
    render(null);
  }
  const node = document.querySelector('[data-id="' + id + '"]');
  if (node) { node.classList.add('linked'); node.scrollIntoView({ block: 'center' }); }
}
window.addEventListener('hashchange', () => { focusedId = null; focusLinked(); });

// ---- time -----------------------------------------------------------------
function formatTime(iso) {
  if (!iso) return '';
  const d = new Date(iso);
  return d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' }) + ' · ' + d.toLocaleDateString([], { month: 'short', day: 'numeric' });
}
function minutes(ms) { const m = Math.round((ms || 0) / 60000); return m >= 60 && m % 60 === 0 ? (m / 60) + ' h' : m + ' min'; }
function tick() {
  for (const node of document.querySelectorAll('[data-expires]')) {
    const left = Math.max(0, Math.floor((Date.parse(node.dataset.expires) - Date.now()) / 1000));
    const m = Math.floor(left / 60), s = left % 60;
    node.textContent = left > 0 ? 'expires in ' + m + ':' + String(s).padStart(2, '0') : 'expiring…';
  }
}
setInterval(tick, 1000);

// ---- suggested rules (GET /api/suggestions) ---------------------------------
let suggestionsTimer = null;
async function loadSuggestions() {
  const r = await api('GET', '/api/suggestions?since=7d');
  const section = $('suggestions-section');
  if (!r.ok) { section.hidden = true; return; }
  section.hidden = false;
  const list = r.data.suggestions || [];
  $('suggestion-count').textContent = String(list.length);
  $('suggestions-empty').hidden = list.length > 0;
  $('suggestions').replaceChildren(...list.map(renderSuggestion));
}

function scheduleSuggestions(delayMs) {
  clearTimeout(suggestionsTimer);
  suggestionsTimer = setTimeout(loadSuggestions, delayMs);
}

function suggestionTitle(s) {
  const me = (state.identity || '').toLowerCase();
  const mine = Object.entries(s.approvers || {}).filter(([k]) => k.toLowerCase() === me).map(([, v]) => v)[0] || 0;
  const total = s.action === 'allow' ? s.approved : s.denied;
  const verb = s.action === 'allow' ? 'approved' : 'denied';
  const times = (k) => k + ' time' + (k === 1 ? '' : 's');
  const who = mine > 0 ? 'You ' + verb + ' this shape ' + times(mine) + (mine < total ? ' (' + total + ' in all)' : '')
    : 'Approvers ' + verb + ' this shape ' + times(total);
  return who + ' this week — make it ' + (s.action === 'allow' ? 'an allow rule?' : 'a deny rule?');
}

function copyBlock(label, text) {
  const pre = el('pre', { class: 'yaml', text: text });
  const button = el('button', { type: 'button', class: 'copy', text: 'Copy' });
  button.addEventListener('click', async () => {
    try { await navigator.clipboard.writeText(text); button.textContent = 'Copied'; }
    catch { const range = document.createRange(); range.selectNodeContents(pre); const sel = getSelection(); sel.removeAllRanges(); sel.addRange(range); button.textContent = 'Selected: press Ctrl+C'; }
    setTimeout(() => { button.textContent = 'Copy'; }, 2500);
  });
  return el('div', { class: 'copy-block' }, [el('div', { class: 'copy-head' }, [el('span', { class: 'label', text: label }), button]), pre]);
}

function renderSuggestion(s) {
  const replay = s.replay || {};
  const transitions = Object.entries(replay.transitions || {}).map(([k, v]) => v + ' ' + k).join(', ') || 'no change';
  const others = (replay.other_changes || 0) > 0 || Object.keys(replay.fail_on || {}).length > 0;
  const approvers = Object.entries(s.approvers || {}).sort((a, b) => b[1] - a[1]).map(([k, v]) => k + ' ×' + v).join(', ');
  const facts = el('dl', { class: 'facts' });
  const fact = (k, v) => facts.append(el('dt', { text: k }), el('dd', {}, v instanceof Node ? v : el('span', { text: v })));
  fact('Agent', s.user + (s.application ? ' (' + s.application + ')' : ''));
  fact('Database', el('span', { class: 'mono', text: s.database }));
  fact(s.action === 'allow' ? 'Approved by' : 'Denied by', approvers);
  fact('Held by rule', (s.held_by || []).join(', '));
  const first = formatTime(s.first_seen), last = formatTime(s.last_seen);
  fact('Seen', first === last ? first : first + ' – ' + last);
  if (s.tables && s.tables.length) fact('Tables', el('span', { class: 'mono', text: s.tables.join(', ') }));
  const place = s.place_before ? 'Add it above rule ' + s.place_before.rule + ' (' + s.place_before.file + ':' + s.place_before.line + ').' : 'Add it above the rules that decide this shape today.';
  return el('article', { class: 'card suggestion ' + s.action, 'data-testid': 'suggestion', 'data-id': s.id }, [
    el('div', { class: 'req-head' }, [
      el('span', { class: 'chip action-' + s.action, text: s.action }),
      el('span', { class: 'chip rule', text: s.id }),
    ]),
    el('h3', { text: suggestionTitle(s) }),
    el('pre', { class: 'sql', text: s.normalized }),
    facts,
    el('p', { class: 'replay' + (others ? ' warn' : '') }, [
      el('span', { class: 'label', text: 'Replay of the log with this rule: ' }),
      el('span', { text: (replay.statements || 0) + ' statement(s) of this shape; ' + transitions + '; ' + (replay.approvals_saved || 0) + ' approval(s) saved' + (others ? '; ' + (replay.other_changes || 0) + ' other change(s): check before adopting' : '; nothing else changes') + '.' }),
    ]),
    el('p', { class: 'small', text: place + ' Nothing changes until the rule is committed and the rules reload.' }),
    copyBlock('Rule (YAML, under rules:)', s.rule_yaml),
    el('details', { class: 'fixtures' }, [el('summary', { text: 'Fixtures for pgwarden rules test (tests/' + s.id + '.test.yaml)' }), copyBlock('Fixtures', s.fixtures_yaml)]),
  ]);
}

// ---- start ----------------------------------------------------------------
$('sign-in-form').addEventListener('submit', (e) => { e.preventDefault(); signIn($('token').value.trim()); $('token').value = ''; });
$('sign-out').addEventListener('click', async () => { await api('DELETE', '/api/session'); showSignIn(''); });

(async () => {
  // A printed link may carry #token=…: use it once, then take it out of the address bar and history.
  const hash = new URLSearchParams(location.hash.slice(1));
  const token = hash.get('token');
  if (token) {
    history.replaceState(null, '', location.pathname + location.search);
    await signIn(token);
    return;
  }
  const s = await api('GET', '/api/session');
  if (s.ok && s.data.csrf_token) started(s.data);
  else showSignIn('');
})();
`;
