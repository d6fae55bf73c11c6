// The session's lexer state as the server last confirmed it (ParameterStatus, which PostgreSQL sends before the
// ReadyForQuery that follows any change): client_encoding, server_encoding and standard_conforming_strings. A text is
// read under this state only when nothing the server has not yet confirmed could have changed it (see Pipeline).
import { decodeStatementText, isAsciiBytes, type DecodedText } from './client-encoding.js';

export type ReadText =
  | { readonly ok: true; readonly text: string; /** Why the parser cannot see what the server will, if so. */ readonly undecidable: string | null }
  | { readonly ok: false; readonly reason: string };

export class LexerState {
  clientEncoding = 'UTF8';
  serverEncoding = 'UTF8';
  standardConformingStrings = true;

  /** A ParameterStatus from the server. */
  update(name: string, value: string): void {
    if (name === 'client_encoding') this.clientEncoding = value;
    else if (name === 'server_encoding') this.serverEncoding = value;
    else if (name === 'standard_conforming_strings') this.standardConformingStrings = value === 'on';
  }

  /** Reads a statement or portal name as the server will (names are converted like texts, but never lexed). */
  readName(bytes: Buffer): DecodedText {
    if (isAsciiBytes(bytes)) return { ok: true, text: bytes.toString('latin1') };
    return decodeStatementText(bytes, this.clientEncoding, this.serverEncoding);
  }

  /** Reads a statement text's bytes (without the NUL) as the server will. `neutral`: ASCII without a backslash. */
  read(bytes: Buffer, neutral = false): ReadText {
    if (neutral) return { ok: true, text: bytes.toString('latin1'), undecidable: null };
    const decoded = decodeStatementText(bytes, this.clientEncoding, this.serverEncoding);
    if (!decoded.ok) return decoded;
    // The parser always lexes with standard_conforming_strings on; with it off, a backslash escapes a quote in '…'
    // and the server may split the text elsewhere ('a\'; DROP …'), so such a text cannot be decided (fails closed).
    const undecidable =
      !this.standardConformingStrings && decoded.text.includes('\\')
        ? "standard_conforming_strings is off and the text contains a backslash, so pgwarden cannot be sure how the server splits it; SET standard_conforming_strings = on, or use E'…' strings"
        : null;
    return { ok: true, text: decoded.text, undecidable };
  }
}
