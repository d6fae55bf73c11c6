// Slack's Block Kit limits as the fake Web API enforces them (written from Slack's Block Kit reference, not from src/, so a message that breaks a limit is refused here as Slack would refuse it).
// It knows only the block and element types pgwarden uses and refuses any other, so a new type gets a renderer and limits before it ships.

type Node = Record<string, unknown>;

const LIMIT = {
  messageBlocks: 50,
  modalBlocks: 100,
  messageText: 40_000,
  sectionText: 3000,
  sectionFields: 10,
  fieldText: 2000,
  headerText: 150,
  contextElements: 10,
  contextText: 3000,
  actionsElements: 25,
  buttonText: 75,
  buttonValue: 2000,
  buttonUrl: 3000,
  actionId: 255,
  blockId: 255,
  inputLabel: 2000,
  inputHint: 2000,
  placeholder: 150,
  inputMaxLength: 3000,
  radioOptions: 10,
  optionText: 75,
  modalTitle: 24,
  modalButton: 24,
  privateMetadata: 3000,
  callbackId: 255,
} as const;

function text(problems: string[], where: string, value: unknown, max: number, kinds: readonly string[] = ['plain_text', 'mrkdwn']): void {
  const t = value as Node | undefined;
  if (!t || typeof t !== 'object') return void problems.push(`${where}: missing text object`);
  if (!kinds.includes(String(t.type))) return void problems.push(`${where}: text type must be ${kinds.join(' or ')}, got ${String(t.type)}`);
  if (typeof t.text !== 'string' || t.text.length < 1) return void problems.push(`${where}: text must be at least 1 character`);
  if (t.text.length > max) problems.push(`${where}: text must be at most ${max} characters (got ${t.text.length})`);
  // Lone surrogates are not valid Unicode: Slack refuses the JSON.
  if (/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(t.text)) problems.push(`${where}: text contains a lone surrogate`);
}

function id(problems: string[], where: string, value: unknown, max: number, required: boolean): void {
  if (value === undefined && !required) return;
  if (typeof value !== 'string' || value.length < 1 || value.length > max) problems.push(`${where}: must be a string of 1..${max} characters`);
}

function element(problems: string[], where: string, el: Node): void {
  switch (el.type) {
    case 'button':
      text(problems, `${where}.text`, el.text, LIMIT.buttonText, ['plain_text']);
      id(problems, `${where}.action_id`, el.action_id, LIMIT.actionId, false);
      if (el.value !== undefined && (typeof el.value !== 'string' || el.value.length > LIMIT.buttonValue)) problems.push(`${where}.value: at most ${LIMIT.buttonValue} characters`);
      if (el.url !== undefined && (typeof el.url !== 'string' || el.url.length > LIMIT.buttonUrl || !/^https?:\/\//.test(el.url))) problems.push(`${where}.url: must be an http(s) URL of at most ${LIMIT.buttonUrl} characters`);
      if (el.style !== undefined && el.style !== 'primary' && el.style !== 'danger') problems.push(`${where}.style: must be primary or danger`);
      return;
    case 'plain_text_input':
      id(problems, `${where}.action_id`, el.action_id, LIMIT.actionId, false);
      if (el.max_length !== undefined && (typeof el.max_length !== 'number' || el.max_length > LIMIT.inputMaxLength)) problems.push(`${where}.max_length: at most ${LIMIT.inputMaxLength}`);
      if (el.placeholder !== undefined) text(problems, `${where}.placeholder`, el.placeholder, LIMIT.placeholder, ['plain_text']);
      return;
    case 'radio_buttons': {
      id(problems, `${where}.action_id`, el.action_id, LIMIT.actionId, false);
      const options = el.options as Node[] | undefined;
      if (!Array.isArray(options) || options.length < 1 || options.length > LIMIT.radioOptions) problems.push(`${where}.options: 1..${LIMIT.radioOptions} options`);
      else options.forEach((o, i) => text(problems, `${where}.options[${i}].text`, o.text, LIMIT.optionText));
      return;
    }
    default:
      problems.push(`${where}: unsupported element type ${String(el.type)} (teach test/fakes/slack-limits.ts its limits)`);
  }
}

function block(problems: string[], where: string, b: Node, surface: 'message' | 'modal'): void {
  id(problems, `${where}.block_id`, b.block_id, LIMIT.blockId, false);
  switch (b.type) {
    case 'header':
      return text(problems, `${where}.text`, b.text, LIMIT.headerText, ['plain_text']);
    case 'section': {
      if (b.text === undefined && b.fields === undefined) problems.push(`${where}: a section needs text or fields`);
      if (b.text !== undefined) text(problems, `${where}.text`, b.text, LIMIT.sectionText);
      if (b.fields !== undefined) {
        const fields = b.fields as Node[];
        if (!Array.isArray(fields) || fields.length < 1 || fields.length > LIMIT.sectionFields) problems.push(`${where}.fields: 1..${LIMIT.sectionFields} fields`);
        else fields.forEach((f, i) => text(problems, `${where}.fields[${i}]`, f, LIMIT.fieldText));
      }
      return;
    }
    case 'context': {
      const elements = b.elements as Node[];
      if (!Array.isArray(elements) || elements.length < 1 || elements.length > LIMIT.contextElements) problems.push(`${where}.elements: 1..${LIMIT.contextElements} elements`);
      else elements.forEach((e, i) => text(problems, `${where}.elements[${i}]`, e, LIMIT.contextText));
      return;
    }
    case 'divider':
      return;
    case 'actions': {
      const elements = b.elements as Node[];
      if (!Array.isArray(elements) || elements.length < 1 || elements.length > LIMIT.actionsElements) problems.push(`${where}.elements: 1..${LIMIT.actionsElements} elements`);
      else elements.forEach((e, i) => element(problems, `${where}.elements[${i}]`, e));
      return;
    }
    case 'input':
      if (surface !== 'modal') problems.push(`${where}: input blocks are for modals`);
      text(problems, `${where}.label`, b.label, LIMIT.inputLabel, ['plain_text']);
      if (b.hint !== undefined) text(problems, `${where}.hint`, b.hint, LIMIT.inputHint, ['plain_text']);
      element(problems, `${where}.element`, (b.element as Node) ?? {});
      return;
    default:
      problems.push(`${where}: unsupported block type ${String(b.type)} (teach test/fakes/slack-limits.ts its limits)`);
  }
}

function blocks(problems: string[], list: unknown, max: number, surface: 'message' | 'modal'): void {
  if (list === undefined) return;
  if (!Array.isArray(list)) return void problems.push('blocks: must be an array');
  if (list.length > max) problems.push(`blocks: at most ${max} blocks (got ${list.length})`);
  list.forEach((b, i) => block(problems, `blocks[${i}]`, b as Node, surface));
}

/** Problems with a chat.postMessage / chat.update's text and blocks, in Slack's terms; empty when Slack would accept it. */
export function validateMessage(params: Node): string[] {
  const problems: string[] = [];
  if (typeof params.text === 'string' && params.text.length > LIMIT.messageText) problems.push(`text: at most ${LIMIT.messageText} characters`);
  if (params.blocks === undefined && !params.text) problems.push('text or blocks is required');
  blocks(problems, params.blocks, LIMIT.messageBlocks, 'message');
  return problems;
}

/** Problems with a views.open view. */
export function validateView(view: Node | undefined): string[] {
  const problems: string[] = [];
  if (!view || view.type !== 'modal') return ['view.type must be modal'];
  text(problems, 'view.title', view.title, LIMIT.modalTitle, ['plain_text']);
  if (view.submit !== undefined) text(problems, 'view.submit', view.submit, LIMIT.modalButton, ['plain_text']);
  if (view.close !== undefined) text(problems, 'view.close', view.close, LIMIT.modalButton, ['plain_text']);
  id(problems, 'view.callback_id', view.callback_id, LIMIT.callbackId, false);
  if (typeof view.private_metadata === 'string' && view.private_metadata.length > LIMIT.privateMetadata) problems.push(`view.private_metadata: at most ${LIMIT.privateMetadata} characters`);
  blocks(problems, view.blocks, LIMIT.modalBlocks, 'modal');
  return problems;
}
