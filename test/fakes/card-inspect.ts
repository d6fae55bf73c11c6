// Reading adaptive cards in tests: their visible text and the verbs of their actions.

/** All visible text of a card (TextBlock text and TextRun text), for assertions. */
export function cardText(card: unknown): string {
  const out: string[] = [];
  const walk = (node: unknown) => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === 'object') {
      const n = node as Record<string, unknown>;
      if ((n.type === 'TextBlock' || n.type === 'TextRun') && typeof n.text === 'string') out.push(n.text);
      for (const [k, v] of Object.entries(n)) if (k !== 'refresh') walk(v);
    }
  };
  walk(card);
  return out.join('\n');
}

/** Verbs of every Action.Execute in a card (including the refresh action). */
export function cardVerbs(card: unknown): string[] {
  const out: string[] = [];
  const walk = (node: unknown) => {
    if (Array.isArray(node)) node.forEach(walk);
    else if (node && typeof node === 'object') {
      const n = node as Record<string, unknown>;
      if (n.type === 'Action.Execute') out.push(String(n.verb));
      Object.values(n).forEach(walk);
    }
  };
  walk(card);
  return out;
}
