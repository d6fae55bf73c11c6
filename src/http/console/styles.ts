// The console's stylesheet: system fonts, light cards, category colours; served as /console/app.css.

export const CONSOLE_CSS = `
:root {
  --bg: #f4f6fa; --card: #fff; --ink: #1b2330; --muted: #5f6b7d; --line: #e2e7ef;
  --accent: #334eac; --approve: #1f7a4d; --approve-bg: #e5f4ec; --deny: #b4232c; --deny-bg: #fbe9ea;
  --warn: #a15c00; --warn-bg: #fff3df; --code-bg: #0f1726; --code-ink: #e3e9f5;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  color: var(--ink); background: var(--bg);
}
* { box-sizing: border-box; }
body { margin: 0; font-size: 14px; line-height: 1.45; }
[hidden] { display: none !important; }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; font-size: 12.5px; }
.topbar { display: flex; align-items: center; justify-content: space-between; padding: 10px 24px; background: #fff; border-bottom: 1px solid var(--line); position: sticky; top: 0; z-index: 2; }
.brand { display: flex; align-items: center; gap: 8px; font-weight: 650; font-size: 16px; }
.brand-sub { color: var(--muted); font-weight: 500; border-left: 1px solid var(--line); padding-left: 8px; }
.who { display: flex; align-items: center; gap: 14px; color: var(--muted); }
.identity { color: var(--ink); font-weight: 550; }
.live { display: inline-flex; align-items: center; gap: 6px; font-size: 12px; }
.live::before { content: ""; width: 8px; height: 8px; border-radius: 50%; background: #b8c0cc; }
.live[data-state="live"]::before { background: #2fb36b; box-shadow: 0 0 0 3px #2fb36b33; }
.live[data-state="reconnecting"]::before { background: #e39b17; }
button { font: inherit; cursor: pointer; border-radius: 7px; border: 1px solid var(--line); background: #fff; padding: 7px 14px; }
button:disabled { opacity: .5; cursor: not-allowed; }
button.link { border: none; background: none; color: var(--accent); padding: 0; }
button.primary { background: var(--accent); border-color: var(--accent); color: #fff; font-weight: 600; }
button.approve { background: var(--approve); border-color: var(--approve); color: #fff; font-weight: 600; }
button.deny { background: #fff; border-color: var(--deny); color: var(--deny); font-weight: 600; }
main { max-width: 1040px; margin: 0 auto; padding: 24px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 12px; box-shadow: 0 1px 2px #1b23300d; }
.narrow { max-width: 420px; margin: 64px auto; padding: 28px; display: flex; flex-direction: column; gap: 10px; }
.narrow h1 { margin: 0; font-size: 20px; }
.narrow input { font: inherit; padding: 9px 11px; border: 1px solid var(--line); border-radius: 7px; }
label { font-weight: 600; font-size: 13px; }
.muted { color: var(--muted); margin: 0; }
.error { color: var(--deny); background: var(--deny-bg); border-radius: 7px; padding: 8px 10px; margin: 0; }
.section-head { margin: 8px 0 12px; }
.section-head h2 { font-size: 16px; margin: 18px 0 2px; display: flex; align-items: center; gap: 8px; }
.count { background: var(--accent); color: #fff; border-radius: 999px; font-size: 12px; padding: 1px 8px; }
.empty { color: var(--muted); background: #fff; border: 1px dashed var(--line); border-radius: 12px; padding: 18px; text-align: center; }
.pending { display: flex; flex-direction: column; gap: 16px; }
.request { padding: 18px 20px; display: grid; gap: 12px; }
.request.flash { animation: flash 1.2s ease-out; }
@keyframes flash { from { box-shadow: 0 0 0 4px #334eac55; } to { box-shadow: 0 1px 2px #1b23300d; } }
.request.linked { border-color: var(--accent); box-shadow: 0 0 0 2px #334eac40; }
tr.linked td { background: #f3f5fc; }
.req-head { display: flex; align-items: center; gap: 8px; flex-wrap: wrap; }
.req-id { color: var(--muted); }
.spacer { flex: 1; }
.countdown { font-variant-numeric: tabular-nums; color: var(--warn); background: var(--warn-bg); border-radius: 999px; padding: 2px 10px; font-size: 12px; font-weight: 600; }
.chip { display: inline-block; border-radius: 999px; padding: 1px 9px; font-size: 12px; font-weight: 600; background: #eef1f6; color: #334; }
.cat-read { background: #e8f1ff; color: #1d4f9c; } .cat-write { background: #e6f0ff; color: #244a8f; }
.cat-export { background: #f1e8ff; color: #6330a8; } .cat-ddl { background: #fff0dc; color: #9a4f00; }
.cat-grant { background: #ffe6e6; color: #a0222a; } .cat-privileged { background: #5d1218; color: #fff; }
.cat-unknown { background: #e9ebef; color: #444; }
.rule { background: #eef1f6; color: var(--ink); font-family: ui-monospace, monospace; font-weight: 500; }
.facts { display: grid; grid-template-columns: max-content minmax(0, 1fr) max-content minmax(0, 1fr); gap: 4px 14px; margin: 0; }
@media (max-width: 720px) { .facts { grid-template-columns: max-content minmax(0, 1fr); } }
.why { margin: 0; color: var(--ink); }
.why .label { color: var(--muted); }
.facts dt { color: var(--muted); }
.facts dd { margin: 0; }
.stated { border-left: 3px solid var(--accent); background: #f3f5fc; padding: 8px 12px; border-radius: 0 8px 8px 0; margin: 0; }
.stated .label { display: block; font-size: 11px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
pre.sql { margin: 0; background: var(--code-bg); color: var(--code-ink); padding: 12px 14px; border-radius: 9px; white-space: pre-wrap; word-break: break-word; max-height: 320px; overflow: auto; }
details.normalized summary { cursor: pointer; color: var(--muted); font-size: 12.5px; }
details.normalized pre { margin: 6px 0 0; background: #eef1f6; padding: 8px 10px; border-radius: 7px; white-space: pre-wrap; }
.votes { display: flex; flex-direction: column; gap: 4px; }
.vote { font-size: 13px; }
.vote.approve::before { content: "✓ "; color: var(--approve); font-weight: 700; }
.vote.deny::before { content: "✕ "; color: var(--deny); font-weight: 700; }
.decide { border-top: 1px solid var(--line); padding-top: 12px; display: grid; gap: 8px; }
.decide textarea { font: inherit; width: 100%; min-height: 54px; padding: 8px 10px; border: 1px solid var(--line); border-radius: 7px; resize: vertical; }
.decide .row { display: flex; align-items: center; gap: 10px; flex-wrap: wrap; }
.scopes { display: flex; gap: 14px; color: var(--muted); }
.scopes label { font-weight: 500; display: inline-flex; gap: 5px; align-items: center; }
.note { color: var(--warn); background: var(--warn-bg); border-radius: 7px; padding: 6px 10px; margin: 0; }
table.recent { width: 100%; border-collapse: collapse; background: #fff; border: 1px solid var(--line); border-radius: 12px; overflow: hidden; }
table.recent th, table.recent td { text-align: left; padding: 9px 12px; border-bottom: 1px solid var(--line); vertical-align: top; }
table.recent th { font-size: 12px; color: var(--muted); font-weight: 600; background: #fafbfd; }
table.recent tr:last-child td { border-bottom: none; }
table.recent td.stmt { max-width: 340px; }
table.recent td.stmt code { display: block; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.status-approved { background: var(--approve-bg); color: var(--approve); }
.status-denied { background: var(--deny-bg); color: var(--deny); }
.status-expired, .status-withdrawn { background: #eceef2; color: #555; }
.small { font-size: 12px; color: var(--muted); }
.suggestions-section { margin-top: 8px; }
.suggestions { display: flex; flex-direction: column; gap: 16px; }
.suggestion { padding: 18px 20px; display: grid; gap: 10px; border-left: 4px solid var(--approve); }
.suggestion.deny { border-left-color: var(--deny); }
.suggestion h3 { margin: 0; font-size: 15px; }
.action-allow { background: var(--approve-bg); color: var(--approve); }
.action-deny { background: var(--deny-bg); color: var(--deny); }
.replay { margin: 0; }
.replay .label { color: var(--muted); }
.replay.warn { color: var(--warn); background: var(--warn-bg); border-radius: 7px; padding: 6px 10px; }
.copy-block { display: grid; gap: 4px; }
.copy-head { display: flex; align-items: center; justify-content: space-between; }
.copy-head .label { font-size: 12px; color: var(--muted); font-weight: 600; }
button.copy { padding: 3px 12px; font-size: 12.5px; }
pre.yaml { margin: 0; background: #f6f8fb; border: 1px solid var(--line); padding: 10px 12px; border-radius: 8px; white-space: pre; overflow: auto; max-height: 360px; }
details.fixtures summary { cursor: pointer; color: var(--muted); font-size: 12.5px; }
details.fixtures .copy-block { margin-top: 6px; }
`;
