// Reading statement texts in the session's client_encoding (the server-side differential lives in test/security).
import { describe, expect, it } from 'vitest';
import { decodeStatementText, isLexerNeutral } from '../../../src/proxy/client-encoding.js';
import { LexerState } from '../../../src/proxy/lexer-state.js';

const b = (...parts: (string | number[])[]) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))));

describe('isLexerNeutral', () => {
  it('is true only for ASCII without a backslash', () => {
    expect(isLexerNeutral(b("SELECT 'a''b' -- x"))).toBe(true);
    expect(isLexerNeutral(b("SELECT 'a\\'"))).toBe(false);
    expect(isLexerNeutral(b("SELECT '", [0xc3, 0xa9], "'"))).toBe(false);
  });
});

describe('decodeStatementText', () => {
  it('SJIS: a character whose second byte is 0x5c is one character, not a backslash', () => {
    const r = decodeStatementText(b("E'", [0x81, 0x5c], "'"), 'SJIS', 'UTF8');
    expect(r).toEqual({ ok: true, text: "E'\u2015'" });
  });

  it('SJIS: ASCII bytes read as themselves (the platform decoder swaps some control characters)', () => {
    const r = decodeStatementText(b([0x1a, 0x7f, 0x1c], [0x83, 0x65]), 'SJIS', 'UTF8');
    expect(r).toEqual({ ok: true, text: '\u001a\u007f\u001cテ' });
  });

  it('a lead byte without a valid second byte is refused, naming the bytes', () => {
    const r = decodeStatementText(b("'", [0x81, 0x27]), 'SJIS', 'UTF8');
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toContain('0x8127');
  });

  it('GB18030: four-byte sequences, and a 0x5c second byte', () => {
    expect(decodeStatementText(b([0x81, 0x30, 0x81, 0x30, 0x81, 0x5c]), 'GB18030', 'UTF8')).toEqual({ ok: true, text: '\u0080乗' });
  });

  it('UHC: the extension Hangul the platform decoder does not know are read as PostgreSQL reads them', () => {
    expect(decodeStatementText(b([0x81, 0x41, 0xb0, 0xa1]), 'UHC', 'UTF8')).toEqual({ ok: true, text: '갂가' });
  });

  it('LATIN1 0x80–0x9f are the C1 controls (as in PostgreSQL), not windows-1252', () => {
    expect(decodeStatementText(b([0x80, 0xe9]), 'LATIN1', 'UTF8')).toEqual({ ok: true, text: '\u0080é' });
  });

  it('characters where the platform and PostgreSQL disagree are refused (BIG5 0xa145)', () => {
    expect(decodeStatementText(b([0xa1, 0x45]), 'BIG5', 'UTF8').ok).toBe(false);
  });

  it('encodings pgwarden cannot decode refuse high bytes but read ASCII', () => {
    for (const e of ['JOHAB', 'EUC_TW', 'MULE_INTERNAL', 'SHIFT_JIS_2004', 'EUC_JIS_2004']) {
      expect(decodeStatementText(b([0x88, 0x5c]), e, 'UTF8').ok, e).toBe(false);
      expect(decodeStatementText(b('SELECT 1'), e, 'UTF8')).toEqual({ ok: true, text: 'SELECT 1' });
    }
  });

  it('client SQL_ASCII is read in the server encoding; both SQL_ASCII refuses high bytes', () => {
    expect(decodeStatementText(b([0xc3, 0xa9]), 'SQL_ASCII', 'UTF8')).toEqual({ ok: true, text: 'é' });
    expect(decodeStatementText(b([0xc3, 0xa9]), 'SQL_ASCII', 'SQL_ASCII').ok).toBe(false);
  });

  it('UTF8: invalid UTF-8 is refused, never replaced', () => {
    expect(decodeStatementText(b([0x81, 0x5c]), 'UTF8', 'UTF8').ok).toBe(false);
  });
});

describe('LexerState', () => {
  it('follows ParameterStatus, and marks backslash texts undecidable while standard_conforming_strings is off', () => {
    const s = new LexerState();
    expect(s.read(b("SELECT 'a\\'"))).toMatchObject({ ok: true, undecidable: null });
    s.update('standard_conforming_strings', 'off');
    const r = s.read(b("SELECT 'a\\'"));
    expect(r.ok && r.undecidable).toContain('standard_conforming_strings is off');
    s.update('client_encoding', 'SJIS');
    expect(s.read(b("SELECT '", [0x81, 0x5c], "'"))).toMatchObject({ ok: true, undecidable: null });
  });
});
