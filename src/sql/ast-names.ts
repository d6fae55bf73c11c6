// Reading names and constants out of libpg-query JSON nodes (RangeVar, ColumnRef, DefElem, A_Const, String lists).

export type Json = Record<string, unknown>;

/** The text of a String node, or undefined when the node is not one. */
export function stringOf(node: unknown): string | undefined {
  if (node === null || typeof node !== 'object') return undefined;
  const s = (node as Json).String as Json | undefined;
  if (s !== undefined) return typeof s.sval === 'string' ? s.sval : '';
  return undefined;
}

/** The string value of an A_Const node, or undefined when the node is not a string constant. */
export function constString(node: unknown): string | undefined {
  if (node === null || typeof node !== 'object') return undefined;
  const k = (node as Json).A_Const as Json | undefined;
  if (k === undefined) return undefined;
  const s = k.sval as Json | undefined;
  if (s === undefined) return undefined;
  return typeof s.sval === 'string' ? s.sval : '';
}

export function nameList(list: unknown): string {
  if (!Array.isArray(list)) return '';
  let out = '';
  for (const item of list) {
    const s = stringOf(item);
    if (s === undefined) continue;
    out = out === '' ? s : `${out}.${s}`;
  }
  return out;
}

export function lastName(list: unknown): string {
  if (!Array.isArray(list) || list.length === 0) return '';
  return (stringOf(list[list.length - 1]) ?? '').toLowerCase();
}

export function rangeVarName(n: Json): string {
  const rel = typeof n.relname === 'string' ? n.relname : '';
  const schema = typeof n.schemaname === 'string' ? n.schemaname : '';
  const cat = typeof n.catalogname === 'string' ? n.catalogname : '';
  if (cat !== '') return `${cat}.${schema}.${rel}`;
  return schema !== '' ? `${schema}.${rel}` : rel;
}

export function columnRefName(n: Json): string {
  const fields = n.fields;
  if (!Array.isArray(fields)) return '';
  let out = '';
  for (const f of fields) {
    const s = stringOf(f) ?? ((f as Json).A_Star !== undefined ? '*' : '');
    out = out === '' ? s : `${out}.${s}`;
  }
  return out;
}

export function defElems(list: unknown): Json[] {
  const out: Json[] = [];
  if (!Array.isArray(list)) return out;
  for (const item of list) {
    const d = (item as Json).DefElem as Json | undefined;
    if (d !== undefined) out.push(d);
  }
  return out;
}

/** DefElem boolean the way PostgreSQL's defGetBoolean reads it: no argument means true. */
export function defTrue(d: Json): boolean {
  const arg = d.arg as Json | undefined;
  if (arg === undefined) return true;
  const b = arg.Boolean as Json | undefined;
  if (b !== undefined) return b.boolval === true;
  const i = arg.Integer as Json | undefined;
  if (i !== undefined) return (i.ival ?? 0) !== 0;
  const s = stringOf(arg);
  if (s !== undefined) return !['false', 'off', 'no', '0', 'of', 'fa', 'f', 'n'].includes(s.toLowerCase());
  const k = constString(arg);
  if (k !== undefined) return !['false', 'off', 'no', '0'].includes(k.toLowerCase());
  return true;
}

export function resTargetNames(list: unknown, into: Set<string>): void {
  if (!Array.isArray(list)) return;
  for (const item of list) {
    const r = (item as Json).ResTarget as Json | undefined;
    if (r !== undefined && typeof r.name === 'string') into.add(r.name);
  }
}

