// Splits a qualified name given as a string (`'public.customers'`, `'"My Table"'`) the way PostgreSQL's regclass input does.

/**
 * The name parts of `text` as PostgreSQL's stringToQualifiedNameList reads them: parts separated by dots, surrounding
 * whitespace ignored, unquoted parts lowercased, `"…"` parts kept as written with `""` meaning one quote. Null when the
 * text is not a valid qualified name (then the caller fails closed).
 */
export function splitQualifiedName(text: string): string[] | null {
  const parts: string[] = [];
  let i = 0;
  const n = text.length;
  const skipSpace = (): void => {
    while (i < n && /\s/.test(text[i]!)) i++;
  };
  for (;;) {
    skipSpace();
    if (i >= n) return null;
    let part = '';
    if (text[i] === '"') {
      i++;
      for (;;) {
        if (i >= n) return null;
        if (text[i] === '"') {
          if (text[i + 1] === '"') {
            part += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        part += text[i];
        i++;
      }
      if (part === '') return null;
    } else {
      const start = i;
      while (i < n && text[i] !== '.' && text[i] !== '"' && !/\s/.test(text[i]!)) i++;
      // downcase_identifier: ASCII letters only (a UTF-8 database leaves other letters as written).
      part = text.slice(start, i).replace(/[A-Z]/g, (ch) => ch.toLowerCase());
      if (part === '') return null;
    }
    parts.push(part);
    skipSpace();
    if (i >= n) return parts;
    if (text[i] !== '.') return null;
    i++;
  }
}
