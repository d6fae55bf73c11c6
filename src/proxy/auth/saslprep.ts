// SASLprep (RFC 4013) of SCRAM passwords, as PostgreSQL and libpq apply it: an ASCII password is used unchanged, and a
// password SASLprep would reject is used as its raw UTF-8 bytes (so any password still works, consistently on both sides).
// Unassigned code points are not checked and the bidirectional rule uses script ranges instead of the Bidi_Class
// table: passwords with such characters may hash differently than libpq's, never less safely.

/** RFC 3454 C.1.2: non-ASCII spaces, mapped to SPACE. */
const NON_ASCII_SPACE = /[\u00a0\u1680\u2000-\u200b\u202f\u205f\u3000]/g;
/** RFC 3454 B.1: characters commonly mapped to nothing. */
const MAPPED_TO_NOTHING = /[\u00ad\u034f\u1806\u180b-\u180d\u200b-\u200d\u2060\ufe00-\ufe0f\ufeff]/g;
/** RFC 3454 C.2–C.9 (controls, private use, non-characters, surrogates, display/tagging characters). */
const PROHIBITED =
  /[\u0000-\u001f\u007f-\u009f\u0340\u0341\u06dd\u070f\u180e\u200c-\u200f\u2028-\u202e\u2060-\u2063\u206a-\u206f\u2ff0-\u2ffb\ud800-\udfff\ue000-\uf8ff\ufdd0-\ufdef\ufeff\ufff9-\uffff]|[\u{1d173}-\u{1d17a}\u{e0001}\u{e0020}-\u{e007f}\u{f0000}-\u{10ffff}]|[\u{1fffe}\u{1ffff}\u{2fffe}\u{2ffff}\u{3fffe}\u{3ffff}\u{4fffe}\u{4ffff}\u{5fffe}\u{5ffff}\u{6fffe}\u{6ffff}\u{7fffe}\u{7ffff}\u{8fffe}\u{8ffff}\u{9fffe}\u{9ffff}\u{afffe}\u{affff}\u{bfffe}\u{bffff}\u{cfffe}\u{cffff}\u{dfffe}\u{dffff}\u{efffe}\u{effff}]/u;
/** Right-to-left scripts (Hebrew, Arabic, Syriac, Thaana, NKo, presentation forms): RFC 3454 D.1 approximated. */
const RAND_AL = /[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufefc]/u;
const LEFT_TO_RIGHT = /[A-Za-z\u00c0-\u024f\u0370-\u058f\u0900-\u1fff\u3040-\u9fff\uac00-\ud7af]/u;

/** The SASLprep'd form of `password`, or the password itself when it is ASCII or SASLprep would prohibit it. */
export function saslPrep(password: string): string {
  // eslint-disable-next-line no-control-regex
  if (/^[\x00-\x7f]*$/.test(password)) return password;
  const mapped = password.replace(NON_ASCII_SPACE, ' ').replace(MAPPED_TO_NOTHING, '').normalize('NFKC');
  if (PROHIBITED.test(mapped)) return password;
  if (RAND_AL.test(mapped)) {
    const chars = [...mapped];
    if (LEFT_TO_RIGHT.test(mapped) || !RAND_AL.test(chars[0]!) || !RAND_AL.test(chars[chars.length - 1]!)) return password;
  }
  return mapped;
}
