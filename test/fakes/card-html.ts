// A small Adaptive Card → HTML renderer styled like Teams' light theme, for looking at our cards in a real browser (the `adaptivecards` package is not installed).
// It knows only the element types pgwarden's cards use and throws on any other, so a card that grows a new type fails its test instead of rendering half.

type Node = Record<string, unknown>;

const SPACING: Record<string, number> = { none: 0, small: 4, default: 8, medium: 16, large: 20, extralarge: 24, padding: 16 };
const TEXT_SIZE: Record<string, number> = { small: 12, default: 14, medium: 17, large: 21, extralarge: 26 };
const PADDING = 16;

/** Container styles of Teams' light host config (background, foreground of "default" text). */
const CONTAINER_STYLE: Record<string, { bg: string; fg: string; accent?: string }> = {
  default: { bg: '#ffffff', fg: '#242424' },
  emphasis: { bg: '#f5f5f5', fg: '#242424' },
  good: { bg: '#e7f4e4', fg: '#242424', accent: '#13a10e' },
  attention: { bg: '#fdf3f4', fg: '#242424', accent: '#c4314b' },
  warning: { bg: '#fbf6d9', fg: '#242424', accent: '#c19c00' },
  accent: { bg: '#ebf3fc', fg: '#242424', accent: '#5b5fc7' },
};

const TEXT_COLOR: Record<string, string> = { default: '#242424', dark: '#242424', light: '#ffffff', accent: '#5b5fc7', good: '#0e700e', warning: '#835c00', attention: '#c4314b' };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/**
 * Adaptive Cards' date/time functions as a Teams client renders them, in the viewer's locale and time zone (the
 * browser's): {{DATE(2026-05-01T10:01:02Z, SHORT)}} and {{TIME(2026-05-01T10:01:02Z)}}. Anything else is left as typed.
 */
export function dateTimeFunctions(text: string): string {
  return text.replace(/\{\{(DATE|TIME)\((\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)(?:,\s*(SHORT|LONG|COMPACT))?\)\}\}/g, (_m, fn: string, iso: string, form?: string) => {
    const d = new Date(iso);
    if (fn === 'TIME') return d.toLocaleTimeString(undefined, { hour: 'numeric', minute: '2-digit' });
    if (form === 'SHORT') return d.toLocaleDateString(undefined, { weekday: 'short', month: 'short', day: 'numeric', year: 'numeric' });
    if (form === 'LONG') return d.toLocaleDateString(undefined, { weekday: 'long', month: 'long', day: 'numeric', year: 'numeric' });
    return d.toLocaleDateString();
  });
}

/** The markdown subset Teams renders in a TextBlock that pgwarden uses: [links](url) and **bold**. */
function markdown(text: string): string {
  return escapeHtml(dateTimeFunctions(text))
    .replace(/\[([^\]]+)\]\(([^)\s]+)\)/g, (_m, label: string, href: string) => `<a href="${href}">${label}</a>`)
    .replace(/\*\*([^*]+)\*\*/g, '<strong>$1</strong>');
}

function lower(value: unknown, fallback: string): string {
  return typeof value === 'string' ? value.toLowerCase() : fallback;
}

function textStyle(n: Node): string {
  const size = TEXT_SIZE[lower(n.size, 'default')] ?? 14;
  const weight = lower(n.weight, 'default') === 'bolder' ? 600 : lower(n.weight, 'default') === 'lighter' ? 300 : 400;
  let color = TEXT_COLOR[lower(n.color, 'default')] ?? '#242424';
  if (n.isSubtle === true) color = '#616161';
  const mono = lower(n.fontType, 'default') === 'monospace';
  return `font-size:${size}px;font-weight:${weight};color:${color};${mono ? 'font-family:var(--mono);' : ''}`;
}

function spacingStyle(n: Node, first: boolean): string {
  if (first) return '';
  const gap = SPACING[lower(n.spacing, 'default')] ?? 8;
  return n.separator === true ? `margin-top:${gap}px;padding-top:${gap}px;border-top:1px solid #e0e0e0;` : `margin-top:${gap}px;`;
}

function items(list: unknown): string {
  if (list === undefined) return '';
  if (!Array.isArray(list)) throw new Error('card-html: expected an array of elements');
  return list.map((el, i) => element(el as Node, i === 0)).join('');
}

function action(a: Node): string {
  if (a.type !== 'Action.Execute' && a.type !== 'Action.OpenUrl' && a.type !== 'Action.Submit') throw new Error(`card-html: unsupported action type ${String(a.type)}`);
  const style = lower(a.style, 'default');
  const cls = style === 'positive' ? 'ac-btn ac-positive' : style === 'destructive' ? 'ac-btn ac-destructive' : 'ac-btn';
  const data = a.type === 'Action.Execute' ? ` data-verb="${escapeHtml(String(a.verb ?? ''))}"` : '';
  return `<button type="button" class="${cls}"${data}>${escapeHtml(String(a.title ?? ''))}</button>`;
}

function actions(list: unknown): string {
  if (!Array.isArray(list) || list.length === 0) return '';
  return `<div class="ac-actions">${(list as Node[]).map(action).join('')}</div>`;
}

function label(n: Node): string {
  if (typeof n.label !== 'string') return '';
  return `<label class="ac-label" for="ac-${escapeHtml(String(n.id))}">${escapeHtml(n.label)}${n.isRequired === true ? ' <span class="ac-req">*</span>' : ''}</label>`;
}

function element(n: Node, first: boolean): string {
  const spacing = spacingStyle(n, first);
  switch (n.type) {
    case 'TextBlock': {
      const wrap = n.wrap === true ? 'white-space:normal;' : 'white-space:nowrap;overflow:hidden;text-overflow:ellipsis;';
      return `<div class="ac-textblock" style="${spacing}${textStyle(n)}${wrap}">${markdown(String(n.text ?? ''))}</div>`;
    }
    case 'RichTextBlock': {
      const runs = (n.inlines as Node[] | undefined) ?? [];
      const html = runs
        .map((r) => {
          if (typeof r === 'string') return escapeHtml(r);
          if (r.type !== 'TextRun') throw new Error(`card-html: unsupported inline type ${String(r.type)}`);
          const italic = r.italic === true ? 'font-style:italic;' : '';
          return `<span style="${textStyle(r)}${italic}">${escapeHtml(String(r.text ?? ''))}</span>`;
        })
        .join('');
      return `<div class="ac-richtext" style="${spacing}">${html}</div>`;
    }
    case 'Container': {
      const style = CONTAINER_STYLE[lower(n.style, 'default')] ?? CONTAINER_STYLE.default!;
      const styled = n.style !== undefined && lower(n.style, 'default') !== 'default';
      const bleed = n.bleed === true ? `margin-left:-${PADDING}px;margin-right:-${PADDING}px;` : '';
      const pad = styled ? `padding:12px ${PADDING}px;background:${style.bg};${style.accent ? `border-left:4px solid ${style.accent};` : ''}` : '';
      // A bled container at the very top also bleeds into the card's top padding, as in Teams.
      const top = styled && n.bleed === true && first ? `margin-top:-${PADDING}px;` : '';
      return `<div class="ac-container" style="${spacing}${bleed}${top}${pad}">${items(n.items)}</div>`;
    }
    case 'ColumnSet': {
      const cols = ((n.columns as Node[] | undefined) ?? [])
        .map((c) => {
          if (c.type !== 'Column') throw new Error(`card-html: unsupported column type ${String(c.type)}`);
          const width = c.width === 'auto' ? 'flex:0 0 auto;' : c.width === 'stretch' || c.width === undefined ? 'flex:1 1 0;' : `flex:${Number.parseFloat(String(c.width)) || 1} 1 0;`;
          return `<div class="ac-column" style="${width}">${items(c.items)}</div>`;
        })
        .join('');
      return `<div class="ac-columnset" style="${spacing}">${cols}</div>`;
    }
    case 'FactSet': {
      const facts = ((n.facts as { title: string; value: string }[] | undefined) ?? [])
        .map((f) => `<tr><th>${markdown(f.title)}</th><td>${markdown(f.value)}</td></tr>`)
        .join('');
      return `<table class="ac-factset" style="${spacing}">${facts}</table>`;
    }
    case 'Input.Text': {
      const id = `ac-${escapeHtml(String(n.id))}`;
      const placeholder = typeof n.placeholder === 'string' ? ` placeholder="${escapeHtml(n.placeholder)}"` : '';
      const value = typeof n.value === 'string' ? n.value : '';
      const control =
        n.isMultiline === true
          ? `<textarea id="${id}" class="ac-input" rows="3"${placeholder}>${escapeHtml(value)}</textarea>`
          : `<input id="${id}" class="ac-input" type="text" value="${escapeHtml(value)}"${placeholder}>`;
      return `<div class="ac-field" style="${spacing}">${label(n)}${control}</div>`;
    }
    case 'Input.ChoiceSet': {
      const id = escapeHtml(String(n.id));
      const choices = (n.choices as { title: string; value: string }[] | undefined) ?? [];
      if (lower(n.style, 'compact') !== 'expanded') {
        const options = choices.map((c) => `<option value="${escapeHtml(c.value)}"${c.value === n.value ? ' selected' : ''}>${escapeHtml(c.title)}</option>`).join('');
        return `<div class="ac-field" style="${spacing}">${label(n)}<select id="ac-${id}" class="ac-input">${options}</select></div>`;
      }
      const radios = choices
        .map(
          (c, i) =>
            `<label class="ac-choice"><input type="radio" name="${id}" value="${escapeHtml(c.value)}"${c.value === n.value ? ' checked' : ''}${i === 0 ? ` id="ac-${id}"` : ''}><span>${escapeHtml(c.title)}</span></label>`,
        )
        .join('');
      return `<div class="ac-field" style="${spacing}">${label(n)}<div role="radiogroup">${radios}</div></div>`;
    }
    case 'ActionSet':
      return `<div style="${spacing}">${actions(n.actions)}</div>`;
    default:
      throw new Error(`card-html: unsupported element type ${String(n.type)} (teach test/fakes/card-html.ts to render it)`);
  }
}

export interface CardHtmlOptions {
  /** Card width in CSS pixels (Teams' chat column gives a full-width card about this much). */
  readonly width?: number;
  /** A line above the card, like the bot's name and time in a Teams channel post. */
  readonly byline?: string;
}

/** A whole HTML page showing `card` as Teams' light theme would; the card itself is `.ac-card`. */
export function renderCardHtml(card: Node, options: CardHtmlOptions = {}): string {
  if (card.type !== 'AdaptiveCard') throw new Error(`card-html: expected an AdaptiveCard, got ${String(card.type)}`);
  const width = options.width ?? 500;
  const body = items(card.body);
  const byline = options.byline ? `<div class="ac-byline">${escapeHtml(options.byline)}</div>` : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Adaptive card</title>
<style>
  :root { --font: "Segoe UI", "Segoe UI Web (West European)", -apple-system, BlinkMacSystemFont, Roboto, "Helvetica Neue", "Liberation Sans", Arial, sans-serif;
          --mono: Consolas, "Cascadia Mono", Menlo, "Liberation Mono", "DejaVu Sans Mono", monospace; }
  html, body { margin: 0; background: #f5f5f5; font-family: var(--font); color: #242424; -webkit-font-smoothing: antialiased; }
  .ac-wrap { padding: 20px; display: inline-block; }
  .ac-byline { font-size: 12px; color: #616161; margin: 0 0 6px 2px; }
  .ac-card { box-sizing: border-box; width: ${width}px; background: #fff; border: 1px solid #e0e0e0; border-radius: 8px; padding: ${PADDING}px;
             box-shadow: 0 1px 2px rgba(0,0,0,.08); overflow: hidden; font-size: 14px; line-height: 1.43; }
  .ac-textblock, .ac-richtext { overflow-wrap: anywhere; }
  .ac-richtext { white-space: pre-wrap; }
  .ac-textblock a { color: #5b5fc7; text-decoration: none; }
  .ac-columnset { display: flex; gap: 8px; }
  .ac-factset { border-collapse: collapse; font-size: 14px; }
  .ac-factset th { text-align: left; font-weight: 600; padding: 0 10px 2px 0; vertical-align: top; white-space: nowrap; }
  .ac-factset td { padding: 0 0 2px 0; }
  .ac-field { display: flex; flex-direction: column; gap: 4px; }
  .ac-label { font-size: 14px; font-weight: 600; }
  .ac-req { color: #c4314b; }
  .ac-input { font: inherit; font-size: 14px; color: #242424; background: #fff; border: 1px solid #d1d1d1; border-bottom-color: #616161; border-radius: 4px;
              padding: 5px 10px; resize: none; }
  .ac-input::placeholder { color: #707070; }
  .ac-choice { display: flex; align-items: flex-start; gap: 8px; font-size: 14px; padding: 3px 0; }
  .ac-choice input { margin: 3px 0 0; accent-color: #5b5fc7; width: 16px; height: 16px; }
  .ac-actions { display: flex; gap: 8px; margin-top: 16px; }
  .ac-btn { flex: 1 1 0; font: inherit; font-size: 14px; font-weight: 600; height: 32px; padding: 0 12px; border-radius: 4px; cursor: pointer;
            border: 1px solid #d1d1d1; background: #fff; color: #242424; }
  .ac-btn.ac-positive { background: #5b5fc7; border-color: #5b5fc7; color: #fff; }
  .ac-btn.ac-destructive { color: #c4314b; }
</style></head>
<body><div class="ac-wrap">${byline}<div class="ac-card" role="article">${body}${actions(card.actions)}</div></div></body></html>`;
}
