// The console's HTML shell: no data in it (everything arrives over the authenticated API), scripts and styles from same-origin files only.

const FAVICON =
  "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 32 32'%3E%3Cpath d='M16 2 4 7v8c0 7.5 5.1 13.3 12 15 6.9-1.7 12-7.5 12-15V7z' fill='%23334eac'/%3E%3Cpath d='m11 16 3.5 3.5L21 13' stroke='white' stroke-width='2.6' fill='none' stroke-linecap='round' stroke-linejoin='round'/%3E%3C/svg%3E";

export const CONSOLE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>pgwarden · approvals</title>
<link rel="icon" href="${FAVICON}">
<link rel="stylesheet" href="/console/app.css">
<script type="module" src="/console/app.js"></script>
</head>
<body>
<header class="topbar">
  <div class="brand"><img src="${FAVICON}" alt="" width="22" height="22"><span>pgwarden</span><span class="brand-sub">approvals</span></div>
  <div class="who" id="who" hidden>
    <span class="live" id="live" data-state="connecting">connecting…</span>
    <span class="identity" id="identity"></span>
    <button type="button" class="link" id="sign-out">Sign out</button>
  </div>
</header>

<main>
  <section id="sign-in" class="sign-in" hidden>
    <form id="sign-in-form" class="card narrow" autocomplete="off">
      <h1>Sign in to approve</h1>
      <p class="muted">Paste the approver token you were given (configured in <code>approvals.api_tokens</code> or <code>PGWARDEN_API_TOKENS</code>).</p>
      <label for="token">Approver token</label>
      <input id="token" name="token" type="password" required spellcheck="false" autocomplete="current-password">
      <p class="error" id="sign-in-error" role="alert" hidden></p>
      <button type="submit" class="primary">Sign in</button>
    </form>
  </section>

  <section id="app" hidden>
    <div class="section-head">
      <h2>Waiting for a decision <span class="count" id="pending-count">0</span></h2>
      <p class="muted">Statements held by pgwarden right now. The agent's connection waits until someone decides or the request expires.</p>
    </div>
    <div id="pending" class="pending"></div>
    <p id="pending-empty" class="empty">Nothing is waiting. New requests appear here as soon as they are made.</p>

    <div class="section-head">
      <h2>Recent decisions</h2>
    </div>
    <table class="recent" id="recent-table">
      <thead><tr><th>Outcome</th><th>Statement</th><th>Requested by</th><th>Decided by</th><th>When</th></tr></thead>
      <tbody id="recent"></tbody>
    </table>
    <p id="recent-empty" class="empty">No decisions yet.</p>

    <section id="teams" hidden>
      <div class="section-head">
        <h2>Microsoft Teams</h2>
        <p class="muted" id="teams-status"></p>
      </div>
      <table class="recent" id="teams-table">
        <thead><tr><th>Where the bot was added</th><th>Conversation id (for teams.conversation_id)</th><th>Seen</th></tr></thead>
        <tbody id="teams-conversations"></tbody>
      </table>
      <p id="teams-empty" class="empty">The bot has not been added to a channel or group chat yet: in Teams, add the pgwarden app to the approvers' channel, then reload this page.</p>
    </section>
    <section id="suggestions-section" class="suggestions-section" hidden>
      <div class="section-head">
        <h2>Make it a rule? <span class="count" id="suggestion-count">0</span></h2>
        <p class="muted">Statement shapes approvers decided the same way again and again this week. Nothing changes until someone commits the rule: copy it, with its fixtures, into your rules.</p>
      </div>
      <div id="suggestions" class="suggestions"></div>
      <p id="suggestions-empty" class="empty">No suggestions yet: they appear once a statement shape has been decided the same way three times.</p>
    </section>
  </section>
</main>
</body>
</html>
`;
