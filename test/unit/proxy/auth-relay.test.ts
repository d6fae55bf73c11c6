// SCRAM-SHA-256-PLUS is never offered to a client through the proxy (the server offers it only over TLS, so a unit test).
import { describe, expect, it } from 'vitest';
import { withoutChannelBinding } from '../../../src/proxy/auth-relay.js';

function authSasl(...mechanisms: string[]): Buffer {
  const body = Buffer.from(mechanisms.map((m) => m + '\0').join('') + '\0');
  const out = Buffer.alloc(9 + body.length);
  out.write('R', 0, 'latin1');
  out.writeInt32BE(8 + body.length, 1);
  out.writeInt32BE(10, 5);
  body.copy(out, 9);
  return out;
}

describe('AuthenticationSASL relay', () => {
  it('removes SCRAM-SHA-256-PLUS and keeps SCRAM-SHA-256, with a correct length', () => {
    const out = withoutChannelBinding(authSasl('SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256'));
    expect(out).toEqual(authSasl('SCRAM-SHA-256'));
    expect(out!.readInt32BE(1)).toBe(out!.length - 1);
  });

  it('leaves other authentication messages and plain SCRAM offers untouched', () => {
    expect(withoutChannelBinding(authSasl('SCRAM-SHA-256'))).toBeNull();
    const md5 = Buffer.from([0x52, 0, 0, 0, 12, 0, 0, 0, 5, 1, 2, 3, 4]);
    expect(withoutChannelBinding(md5)).toBeNull();
  });
});
