// "Did you mean …?" for misspelt rule keys and values: the closest known word by edit distance.

/** Levenshtein distance, small inputs only (rule keywords). */
function distance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = prev[j]!;
      prev[j] = Math.min(up + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = up;
    }
  }
  return prev[b.length]!;
}

/** ` (did you mean 'export'?)` when a known word is close to `input`, else ''. */
export function didYouMean(input: unknown, known: Iterable<string>): string {
  if (typeof input !== 'string' || input.length === 0) return '';
  const lower = input.toLowerCase();
  let best = '';
  let bestDistance = Infinity;
  for (const word of known) {
    const d = distance(lower, word.toLowerCase());
    if (d < bestDistance) {
      best = word;
      bestDistance = d;
    }
  }
  return bestDistance <= Math.max(1, Math.floor(lower.length / 3)) ? ` (did you mean '${best}'?)` : '';
}

/** `a, b, c` for messages. */
export function listWords(words: Iterable<string>): string {
  return [...words].join(', ');
}
