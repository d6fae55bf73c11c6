// Decodes a statement text exactly as the server will read it: in the session's client_encoding, split into
// characters by PostgreSQL's own rules (src/common/wchar.c, pg_*_verifychar), or refused. A multibyte character must
// never be read as ASCII by one side and not by the other: in SJIS, BIG5, GBK and GB18030 the second byte of a
// character may be 0x5c, which a UTF-8 reading takes for a backslash (issue 11, finding 2).
// Which encodings are decoded and which are refused: docs/protocol.md "Client encodings".
import { isAscii } from 'node:buffer';
import { MULTIBYTE_VALUE_EXCEPTIONS, SINGLE_BYTE_OVERRIDES, uhcExtensionChar } from './client-encoding-tables.js';

export type DecodedText = { readonly ok: true; readonly text: string } | { readonly ok: false; readonly reason: string };

/**
 * True when the bytes are all ASCII and contain no backslash: such a text lexes identically under every client
 * encoding (every PostgreSQL encoding is an ASCII superset) and both standard_conforming_strings values, so it can be
 * decided before earlier statements have confirmed the session's lexer state.
 */
export function isLexerNeutral(bytes: Buffer): boolean {
  return bytes.indexOf(0x5c) < 0 && isAsciiBytes(bytes);
}

/** True when every byte is below 0x80 (node:buffer's native scan). */
export function isAsciiBytes(bytes: Buffer): boolean {
  return bytes.length === 0 || isAscii(bytes);
}

/** PostgreSQL's verifychar for one multibyte encoding: length of the character at `i`, or -1 when invalid. */
type CharLength = (b: Buffer, i: number, end: number) => number;

interface Multibyte {
  readonly kind: 'multibyte';
  readonly label: string;
  readonly charLength: CharLength;
}
interface SingleByte {
  readonly kind: 'single';
  readonly label: string;
}
interface Refused {
  readonly kind: 'refused';
  readonly why: string;
}
type Encoding = { readonly kind: 'utf8' } | Multibyte | SingleByte | Refused | { readonly kind: 'ascii_only'; readonly why: string };

const inRange = (c: number | undefined, lo: number, hi: number): boolean => c !== undefined && c >= lo && c <= hi;
const eucRange = (c: number | undefined): boolean => inRange(c, 0xa1, 0xfe);

/** High byte starts a two-byte character whose second byte may be anything but NUL (BIG5, GBK, UHC in wchar.c). */
const twoByteAnyTrail: CharLength = (b, i, end) => (i + 1 < end && b[i + 1] !== 0 ? 2 : -1);

const sjis: CharLength = (b, i, end) => {
  const c1 = b[i]!;
  if (c1 >= 0xa1 && c1 <= 0xdf) return 1; // half-width katakana
  if (i + 1 >= end) return -1;
  const c2 = b[i + 1];
  const head = inRange(c1, 0x81, 0x9f) || inRange(c1, 0xe0, 0xfc);
  const tail = inRange(c2, 0x40, 0x7e) || inRange(c2, 0x80, 0xfc);
  return head && tail ? 2 : -1;
};

const gb18030: CharLength = (b, i, end) => {
  const c1 = b[i]!;
  const c2 = b[i + 1];
  if (end - i >= 4 && inRange(c2, 0x30, 0x39)) {
    return inRange(c1, 0x81, 0xfe) && inRange(b[i + 2], 0x81, 0xfe) && inRange(b[i + 3], 0x30, 0x39) ? 4 : -1;
  }
  if (end - i >= 2 && inRange(c1, 0x81, 0xfe)) return inRange(c2, 0x40, 0x7e) || inRange(c2, 0x80, 0xfe) ? 2 : -1;
  return -1;
};

const eucJp: CharLength = (b, i, end) => {
  const c1 = b[i]!;
  if (c1 === 0x8e) return i + 1 < end && inRange(b[i + 1], 0xa1, 0xdf) ? 2 : -1; // JIS X 0201 kana
  if (c1 === 0x8f) return i + 2 < end && eucRange(b[i + 1]) && eucRange(b[i + 2]) ? 3 : -1; // JIS X 0212
  return i + 1 < end && eucRange(c1) && eucRange(b[i + 1]) ? 2 : -1;
};

/** EUC_KR and EUC_CN: two bytes, both 0xa1–0xfe. */
const eucTwoByte: CharLength = (b, i, end) => (i + 1 < end && eucRange(b[i]) && eucRange(b[i + 1]) ? 2 : -1);

const single = (label: string): SingleByte => ({ kind: 'single', label });
const refused = (why: string): Refused => ({ kind: 'refused', why });

/** By PostgreSQL's canonical encoding name, as ParameterStatus reports it. */
const ENCODINGS: ReadonlyMap<string, Encoding> = new Map<string, Encoding>([
  ['UTF8', { kind: 'utf8' }],
  ['SJIS', { kind: 'multibyte', label: 'shift_jis', charLength: sjis }],
  ['BIG5', { kind: 'multibyte', label: 'big5', charLength: twoByteAnyTrail }],
  ['GBK', { kind: 'multibyte', label: 'gbk', charLength: twoByteAnyTrail }],
  ['UHC', { kind: 'multibyte', label: 'euc-kr', charLength: twoByteAnyTrail }],
  ['GB18030', { kind: 'multibyte', label: 'gb18030', charLength: gb18030 }],
  ['EUC_JP', { kind: 'multibyte', label: 'euc-jp', charLength: eucJp }],
  ['EUC_KR', { kind: 'multibyte', label: 'euc-kr', charLength: eucTwoByte }],
  ['EUC_CN', { kind: 'multibyte', label: 'gbk', charLength: eucTwoByte }],
  ['LATIN1', single('iso-8859-1')],
  ['LATIN2', single('iso-8859-2')],
  ['LATIN3', single('iso-8859-3')],
  ['LATIN4', single('iso-8859-4')],
  ['LATIN5', single('iso-8859-9')],
  ['LATIN6', single('iso-8859-10')],
  ['LATIN7', single('iso-8859-13')],
  ['LATIN8', single('iso-8859-14')],
  ['LATIN9', single('iso-8859-15')],
  ['LATIN10', single('iso-8859-16')],
  ['ISO_8859_5', single('iso-8859-5')],
  ['ISO_8859_6', single('iso-8859-6')],
  ['ISO_8859_7', single('iso-8859-7')],
  ['ISO_8859_8', single('iso-8859-8')],
  ['WIN866', single('ibm866')],
  ['WIN874', single('windows-874')],
  ['WIN1250', single('windows-1250')],
  ['WIN1251', single('windows-1251')],
  ['WIN1252', single('windows-1252')],
  ['WIN1253', single('windows-1253')],
  ['WIN1254', single('windows-1254')],
  ['WIN1255', single('windows-1255')],
  ['WIN1256', single('windows-1256')],
  ['WIN1257', single('windows-1257')],
  ['WIN1258', single('windows-1258')],
  ['KOI8R', single('koi8-r')],
  ['KOI8U', single('koi8-u')],
  ['JOHAB', refused('no decoder for JOHAB is available to pgwarden')],
  ['EUC_TW', refused('no decoder for EUC_TW is available to pgwarden')],
  ['EUC_JIS_2004', refused('no decoder for EUC_JIS_2004 is available to pgwarden')],
  ['SHIFT_JIS_2004', refused('no decoder for SHIFT_JIS_2004 is available to pgwarden')],
  ['MULE_INTERNAL', refused('MULE_INTERNAL has no decoder available to pgwarden')],
]);

/** The encoding names pgwarden decodes (for docs and tests). */
export const DECODED_ENCODINGS: readonly string[] = [...ENCODINGS].filter(([, e]) => e.kind !== 'refused').map(([n]) => n);

/**
 * The encoding whose characters the server's lexer sees for a client text. With client_encoding SQL_ASCII the server
 * only validates the bytes in its own encoding (pg_any_to_server), so that one applies; when both are SQL_ASCII the
 * bytes reach the lexer unchecked and only ASCII texts can be read with certainty.
 */
function effectiveEncoding(clientEncoding: string, serverEncoding: string): Encoding {
  const client = clientEncoding.toUpperCase();
  const name = client === 'SQL_ASCII' ? serverEncoding.toUpperCase() : client;
  if (name === 'SQL_ASCII') return { kind: 'ascii_only', why: 'client_encoding and server_encoding are SQL_ASCII, so the server reads bytes above 0x7f unchecked and pgwarden cannot know which characters they are' };
  return ENCODINGS.get(name) ?? refused(`client_encoding ${clientEncoding} is not known to pgwarden`);
}

const singleByteTables = new Map<string, readonly (string | null)[]>();

/** 128 entries for bytes 0x80–0xff (null = not a character in this encoding), checked against PostgreSQL's tables. */
function singleByteTable(name: string, label: string): readonly (string | null)[] {
  let table = singleByteTables.get(name);
  if (table) return table;
  const decoder = new TextDecoder(label, { fatal: true });
  const overrides = SINGLE_BYTE_OVERRIDES[name];
  table = Array.from({ length: 128 }, (_, k) => {
    const byte = 0x80 + k;
    const o = overrides?.(byte);
    if (o !== undefined) return o;
    try {
      const s = decoder.decode(Uint8Array.of(byte));
      return [...s].length === 1 && s.codePointAt(0)! >= 0x80 ? s : null;
    } catch {
      return null;
    }
  });
  singleByteTables.set(name, table);
  return table;
}

const MAX_CACHED_CHARS = 1 << 16;
const charCaches = new Map<string, Map<number, string | null>>();

/** One multibyte character through the platform decoder, kept only when it is exactly one non-ASCII code point. */
function decodeChar(name: string, label: string, b: Buffer, i: number, len: number): string | null {
  let key = 0;
  for (let k = 0; k < len; k++) key = key * 256 + b[i + k]!;
  let cache = charCaches.get(name);
  if (!cache) charCaches.set(name, (cache = new Map()));
  const hit = cache.get(key);
  if (hit !== undefined) return hit;
  let out: string | null = name === 'UHC' && len === 2 ? (uhcExtensionChar(key) ?? null) : null;
  if (out === null && !MULTIBYTE_VALUE_EXCEPTIONS[name]?.has(key)) {
    try {
      // ICU's legacy decoders do not always honour `fatal` (one drops an unmapped UHC lead byte and returns the ASCII
      // trail), so the result is checked: one character in must be one non-ASCII code point out.
      const s = new TextDecoder(label, { fatal: true }).decode(b.subarray(i, i + len));
      const cp = s.codePointAt(0);
      if (cp !== undefined && cp >= 0x80 && s.length === (cp > 0xffff ? 2 : 1)) out = s;
    } catch {
      out = null;
    }
  }
  if (cache.size >= MAX_CACHED_CHARS) cache.clear();
  cache.set(key, out);
  return out;
}

function hex(b: Buffer, i: number, len: number): string {
  return b.subarray(i, Math.min(i + len, b.length)).toString('hex');
}

/** Decodes one statement text (without its NUL) as the server will read it, or says why pgwarden cannot. */
export function decodeStatementText(bytes: Buffer, clientEncoding: string, serverEncoding: string): DecodedText {
  const encoding = effectiveEncoding(clientEncoding, serverEncoding);
  if (encoding.kind === 'utf8') {
    try {
      return { ok: true, text: utf8Fatal.decode(bytes) };
    } catch {
      return { ok: false, reason: 'the text is not valid UTF8 (client_encoding)' };
    }
  }
  if (isAsciiBytes(bytes)) return { ok: true, text: bytes.toString('latin1') };
  if (encoding.kind === 'refused' || encoding.kind === 'ascii_only') return { ok: false, reason: `${encoding.why}; texts with bytes above 0x7f are refused` };
  const parts: string[] = [];
  const end = bytes.length;
  let runStart = 0;
  const table = encoding.kind === 'single' ? singleByteTable(clientEncoding.toUpperCase(), encoding.label) : null;
  for (let i = 0; i < end; ) {
    const c = bytes[i]!;
    if (c < 0x80) {
      i++;
      continue;
    }
    if (i > runStart) parts.push(bytes.toString('latin1', runStart, i));
    if (table) {
      const ch = table[c - 0x80];
      if (ch === null || ch === undefined) return { ok: false, reason: `byte 0x${hex(bytes, i, 1)} is not a character in ${clientEncoding} (client_encoding)` };
      parts.push(ch);
      i++;
    } else {
      const mb = encoding as Multibyte;
      const len = mb.charLength(bytes, i, end);
      if (len < 1) return { ok: false, reason: `invalid byte sequence for encoding ${clientEncoding} (client_encoding): 0x${hex(bytes, i, 2)}` };
      const ch = len === 1 ? decodeChar(clientEncoding.toUpperCase(), mb.label, bytes, i, 1) : decodeChar(clientEncoding.toUpperCase(), mb.label, bytes, i, len);
      if (ch === null) return { ok: false, reason: `the character 0x${hex(bytes, i, len)} in ${clientEncoding} (client_encoding) has no reading pgwarden shares with PostgreSQL` };
      parts.push(ch);
      i += len;
    }
    runStart = i;
  }
  if (runStart < end) parts.push(bytes.toString('latin1', runStart, end));
  return { ok: true, text: parts.join('') };
}

const utf8Fatal = new TextDecoder('utf-8', { fatal: true });
