// The Block Kit vocabulary pgwarden uses (a closed subset), Slack's documented size limits, and small builders that respect them.
import { cutWithNote, escapeMrkdwn, mrkdwn, plain, type MrkdwnText, type PlainText, type TextObject } from './mrkdwn.js';

/** Slack's limits (Block Kit reference, chat.postMessage and views.open docs). A message over any of them is refused with `invalid_blocks`. */
export const SlackLimit = {
  messageBlocks: 50,
  modalBlocks: 100,
  sectionText: 3000,
  fieldText: 2000,
  sectionFields: 10,
  headerText: 150,
  contextElements: 10,
  buttonText: 75,
  buttonValue: 2000,
  buttonUrl: 3000,
  modalTitle: 24,
  modalButton: 24,
  privateMetadata: 3000,
  inputLabel: 2000,
} as const;

export interface ButtonElement {
  readonly type: 'button';
  readonly action_id: string;
  readonly text: PlainText;
  readonly value?: string;
  readonly url?: string;
  readonly style?: 'primary' | 'danger';
}

export interface PlainTextInput {
  readonly type: 'plain_text_input';
  readonly action_id: string;
  readonly multiline: boolean;
  readonly max_length: number;
  readonly placeholder?: PlainText;
}

export interface RadioOption {
  readonly text: PlainText;
  readonly value: string;
}

export interface RadioButtons {
  readonly type: 'radio_buttons';
  readonly action_id: string;
  readonly options: readonly RadioOption[];
  readonly initial_option?: RadioOption;
}

export type Block =
  | { readonly type: 'header'; readonly text: PlainText }
  | { readonly type: 'section'; readonly text?: TextObject; readonly fields?: readonly TextObject[] }
  | { readonly type: 'context'; readonly elements: readonly TextObject[] }
  | { readonly type: 'divider' }
  | { readonly type: 'actions'; readonly block_id: string; readonly elements: readonly ButtonElement[] }
  | {
      readonly type: 'input';
      readonly block_id: string;
      readonly label: PlainText;
      readonly element: PlainTextInput | RadioButtons;
      readonly optional: boolean;
      readonly hint?: PlainText;
    };

export function header(text: string): Block {
  return { type: 'header', text: plain(text, SlackLimit.headerText) };
}

export function context(text: string): Block {
  return { type: 'context', elements: [mrkdwn(text)] };
}

export function section(text: MrkdwnText): Block {
  return { type: 'section', text };
}

/** Labels are ours, but some name people ("Approved by …"): kept short so a field never nears its limit. */
const LABEL_MAX = 200;

/** Label / value pairs as a two-column table: labels in bold mrkdwn (ours), values as plain_text (never formatted, whoever wrote them). */
export function fieldTable(pairs: readonly (readonly [label: string, value: string, max?: number])[]): Block[] {
  const blocks: Block[] = [];
  const perSection = SlackLimit.sectionFields / 2;
  for (let i = 0; i < pairs.length; i += perSection) {
    const fields: TextObject[] = [];
    for (const [label, value, max] of pairs.slice(i, i + perSection)) {
      fields.push(mrkdwn(`*${escapeMrkdwn(cutWithNote(label, LABEL_MAX, () => '…'))}*`), plain(value, Math.min(max ?? SlackLimit.fieldText, SlackLimit.fieldText)));
    }
    blocks.push({ type: 'section', fields });
  }
  return blocks;
}

export function button(actionId: string, text: string, options: { value?: string; url?: string; style?: 'primary' | 'danger' } = {}): ButtonElement {
  return {
    type: 'button',
    action_id: actionId,
    text: plain(text, SlackLimit.buttonText),
    ...(options.value !== undefined ? { value: options.value } : {}),
    ...(options.url !== undefined ? { url: options.url } : {}),
    ...(options.style ? { style: options.style } : {}),
  };
}
