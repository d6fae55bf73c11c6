// A small Block Kit → HTML renderer styled like Slack's light theme, for looking at our messages in a real browser.
// It renders the mrkdwn Slack documents (*bold*, _italic_, ~strike~, `code`, ``` blocks, <url|label>, <!date^…|fallback>, &amp; &lt; &gt;),
// knows only the block types pgwarden sends and throws on any other, so a message that grows a new type fails its test instead of rendering half.

type Node = Record<string, unknown>;

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** Slack's three entities back to characters (mrkdwn text arrives escaped). */
function decodeEntities(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/** Inline mrkdwn (outside code blocks): links, dates and mentions in <…> (formatting may span them), then `code`, *bold*, _italic_, ~strike~. */
function inline(text: string): string {
  const tokens: string[] = [];
  // Each <…> becomes a placeholder so *bold* around a date or link still pairs up, as in Slack.
  const marked = text.replace(/<([^<>]+)>/g, (_m, inner: string) => {
    const bar = inner.indexOf('|');
    const target = bar >= 0 ? inner.slice(0, bar) : inner;
    const label = bar >= 0 ? inner.slice(bar + 1) : inner;
    if (target.startsWith('!date^')) tokens.push(`<time>${escapeHtml(decodeEntities(label))}</time>`);
    else if (target.startsWith('@') || target.startsWith('!')) tokens.push(`<span class="sk-mention">@${escapeHtml(decodeEntities(label.replace(/^[@!]/, '')))}</span>`);
    else tokens.push(`<a href="${escapeHtml(decodeEntities(target))}">${escapeHtml(decodeEntities(label))}</a>`);
    return `\u0000${tokens.length - 1}\u0000`;
  });
  return formatRuns(decodeEntities(marked)).replace(/\u0000(\d+)\u0000/g, (_m, i: string) => tokens[Number(i)]!);
}

function formatRuns(text: string): string {
  return escapeHtml(text)
    .replace(/`([^`\n]+)`/g, '<code>$1</code>')
    .replace(/(^|[\s(])\*([^*\n]+)\*(?=$|[\s).,:;!?])/g, '$1<b>$2</b>')
    .replace(/(^|[\s(])_([^_\n]+)_(?=$|[\s).,:;!?])/g, '$1<i>$2</i>')
    .replace(/(^|[\s(])~([^~\n]+)~(?=$|[\s).,:;!?])/g, '$1<s>$2</s>')
    .replace(/\n/g, '<br>');
}

/** mrkdwn → HTML: ``` fences become <pre> (their content shown as typed), the rest is inline mrkdwn. */
export function mrkdwnHtml(text: string): string {
  const out: string[] = [];
  const pieces = text.split('```');
  if (pieces.length % 2 === 0) throw new Error(`slack-html: unbalanced code fence in ${JSON.stringify(text.slice(0, 80))}`);
  pieces.forEach((piece, i) => {
    // A fence takes its own line: the newlines around it are not extra blank lines.
    if (i % 2 === 0) out.push(inline((i > 0 ? piece.replace(/^\n/, '') : piece).replace(i < pieces.length - 1 ? /\n$/ : /$^/, '')));
    else out.push(`<pre class="sk-pre">${escapeHtml(decodeEntities(piece.replace(/^\n/, '').replace(/\n$/, '')))}</pre>`);
  });
  return out.join('');
}

function textHtml(t: Node | undefined): string {
  if (!t) return '';
  if (t.type === 'plain_text') return escapeHtml(String(t.text ?? '')).replace(/\n/g, '<br>');
  if (t.type === 'mrkdwn') return mrkdwnHtml(String(t.text ?? ''));
  throw new Error(`slack-html: unsupported text type ${String(t.type)}`);
}

function button(el: Node): string {
  if (el.type !== 'button') throw new Error(`slack-html: unsupported element type ${String(el.type)}`);
  const style = el.style === 'primary' ? ' sk-primary' : el.style === 'danger' ? ' sk-danger' : '';
  const label = textHtml(el.text as Node);
  if (typeof el.url === 'string') return `<a role="button" class="sk-btn${style}" href="${escapeHtml(el.url)}">${label}</a>`;
  return `<button type="button" class="sk-btn${style}" data-action="${escapeHtml(String(el.action_id ?? ''))}">${label}</button>`;
}

function block(b: Node): string {
  switch (b.type) {
    case 'header':
      return `<div class="sk-header">${textHtml(b.text as Node)}</div>`;
    case 'section': {
      const text = b.text ? `<div class="sk-text">${textHtml(b.text as Node)}</div>` : '';
      const fields = Array.isArray(b.fields) ? `<div class="sk-fields">${(b.fields as Node[]).map((f) => `<div class="sk-field">${textHtml(f)}</div>`).join('')}</div>` : '';
      return `<div class="sk-section">${text}${fields}</div>`;
    }
    case 'context':
      return `<div class="sk-context">${(b.elements as Node[]).map((e) => `<span>${textHtml(e)}</span>`).join('')}</div>`;
    case 'divider':
      return '<hr class="sk-divider">';
    case 'actions':
      return `<div class="sk-actions">${(b.elements as Node[]).map(button).join('')}</div>`;
    default:
      throw new Error(`slack-html: unsupported block type ${String(b.type)} (teach test/fakes/slack-html.ts to render it)`);
  }
}

export interface SlackHtmlOptions {
  /** Width of the message column in CSS pixels. */
  readonly width?: number;
  /** The app name and time shown above the message, as in a Slack channel. */
  readonly byline?: { readonly name: string; readonly time: string };
}

/** A whole HTML page showing a message's blocks as Slack's light theme would; the message itself is `.sk-message`. */
export function renderSlackHtml(blocks: readonly Node[], options: SlackHtmlOptions = {}): string {
  const width = options.width ?? 640;
  const byline = options.byline
    ? `<div class="sk-byline"><b>${escapeHtml(options.byline.name)}</b><span class="sk-app">APP</span><span class="sk-time">${escapeHtml(options.byline.time)}</span></div>`
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Slack message</title>
<style>
  :root { --font: Lato, "Helvetica Neue", "Liberation Sans", Arial, sans-serif; --mono: Monaco, Menlo, Consolas, "Liberation Mono", "DejaVu Sans Mono", monospace; }
  html, body { margin: 0; background: #fff; font-family: var(--font); color: #1d1c1d; -webkit-font-smoothing: antialiased; }
  .sk-wrap { padding: 16px 20px; display: flex; gap: 8px; }
  .sk-avatar { flex: 0 0 36px; height: 36px; border-radius: 6px; background: #3f0e40; color: #fff; font-weight: 900; font-size: 15px;
               display: flex; align-items: center; justify-content: center; }
  .sk-message { width: ${width}px; font-size: 15px; line-height: 1.46668; }
  .sk-byline { font-size: 15px; margin-bottom: 2px; }
  .sk-app { font-size: 10px; font-weight: 700; color: #616061; background: #e8e8e8; border-radius: 2px; padding: 1px 3px; margin: 0 6px; vertical-align: 2px; }
  .sk-time { font-size: 12px; color: #616061; }
  .sk-header { font-size: 18px; font-weight: 900; line-height: 1.33; margin: 4px 0 6px; }
  .sk-section { margin: 6px 0; }
  .sk-text { overflow-wrap: anywhere; }
  .sk-fields { display: grid; grid-template-columns: 1fr 1fr; column-gap: 16px; row-gap: 2px; margin-top: 4px; }
  .sk-field { overflow-wrap: anywhere; }
  .sk-context { font-size: 13px; color: #616061; margin: 4px 0; overflow-wrap: anywhere; }
  .sk-context time { color: #616061; }
  .sk-pre { font-family: var(--mono); font-size: 12px; line-height: 1.5; background: #f8f8f8; border: 1px solid #dddddd; border-radius: 4px;
            padding: 8px; margin: 4px 0 0; white-space: pre-wrap; overflow-wrap: anywhere; }
  code { font-family: var(--mono); font-size: 12px; color: #e01e5a; background: #f8f8f8; border: 1px solid #dddddd; border-radius: 3px; padding: 0 3px; }
  a { color: #1264a3; text-decoration: none; }
  .sk-actions { display: flex; gap: 8px; flex-wrap: wrap; margin: 10px 0 4px; }
  .sk-btn { font: inherit; font-size: 13px; font-weight: 700; height: 28px; padding: 0 12px; border-radius: 4px; cursor: pointer; display: inline-flex;
            align-items: center; border: 1px solid rgba(29,28,29,.3); background: #fff; color: #1d1c1d; }
  .sk-btn.sk-primary { background: #007a5a; border-color: #007a5a; color: #fff; }
  .sk-btn.sk-danger { background: #e01e5a; border-color: #e01e5a; color: #fff; }
  .sk-divider { border: 0; border-top: 1px solid #dddddd; margin: 8px 0; }
</style></head>
<body><div class="sk-wrap"><div class="sk-avatar" aria-hidden="true">pg</div><div class="sk-message" role="article">${byline}${blocks.map(block).join('')}</div></div></body></html>`;
}
