// SCRAM-SHA-256 on both sides: the RFC 7677 test vector, verifiers in PostgreSQL's format, channel binding and the
// downgrade check, and every way a client-final message can be wrong.
import { describe, expect, it } from 'vitest';
import { formatVerifier, makeVerifier, mockVerifier, parseVerifier, serverEndPointHash } from '../../../src/proxy/auth/scram.js';
import { ScramServerExchange, scramMechanisms } from '../../../src/proxy/auth/scram-server.js';
import { ScramClientExchange } from '../../../src/proxy/auth/scram-client.js';
import { md5Password } from '../../../src/proxy/auth/upstream-login.js';
import { saslPrep } from '../../../src/proxy/auth/saslprep.js';

const RFC_SALT = Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64');

async function exchange(opts: { password: string; stored: string; clientBinding: Buffer | null; serverBinding: Buffer | null; offered?: string[]; tamper?: (final: string) => string }) {
  const verifier = await makeVerifier(opts.stored, 4096);
  const server = new ScramServerExchange({ verifier, channelBinding: opts.serverBinding });
  const client = new ScramClientExchange(opts.password, opts.offered ?? scramMechanisms(opts.serverBinding !== null), opts.clientBinding, 'prefer');
  const first = server.initial(client.mechanism, client.first());
  if (!first.ok) return { ok: false as const, why: first.why };
  let final = (await client.continue(Buffer.from(first.reply))).toString();
  if (opts.tamper) final = opts.tamper(final);
  const last = server.final(Buffer.from(final));
  if (!last.ok) return { ok: false as const, why: last.why };
  client.final(Buffer.from(last.reply));
  return { ok: true as const, mechanism: client.mechanism, verified: client.isServerVerified };
}

describe('SCRAM-SHA-256', () => {
  it('answers the RFC 7677 test vector exactly (server side)', async () => {
    const verifier = await makeVerifier('pencil', 4096, RFC_SALT);
    const server = new ScramServerExchange({ verifier, channelBinding: null, nonce: () => '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0' });
    const first = server.initial('SCRAM-SHA-256', Buffer.from('n,,n=user,r=rOprNGfwEbeRWgbNEkqO'));
    expect(first).toEqual({ ok: true, reply: 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096' });
    const final = server.final(Buffer.from('c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ='));
    expect(final).toEqual({ ok: true, reply: 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=' });
  });

  it('stores verifiers in PostgreSQL pg_authid format and reads them back', async () => {
    const v = await makeVerifier('pencil', 4096, RFC_SALT);
    const text = formatVerifier(v);
    expect(text).toMatch(/^SCRAM-SHA-256\$4096:W22ZaJ0SNY7soEsUEjb6gQ==\$[A-Za-z0-9+/=]{44}:[A-Za-z0-9+/=]{44}$/);
    expect(parseVerifier(text)).toEqual(v);
    expect(parseVerifier('SCRAM-SHA-256$4096:abc$short:short')).toBeNull();
    expect(parseVerifier('md5abcdef')).toBeNull();
  });

  it('accepts the right password without channel binding and verifies the server', async () => {
    expect(await exchange({ password: 's3cret', stored: 's3cret', clientBinding: null, serverBinding: null })).toEqual({ ok: true, mechanism: 'SCRAM-SHA-256', verified: true });
  });

  it('refuses a wrong password', async () => {
    expect(await exchange({ password: 'guess', stored: 's3cret', clientBinding: null, serverBinding: null })).toEqual({ ok: false, why: 'wrong password' });
  });

  it('uses SCRAM-SHA-256-PLUS when both sides have the same TLS end point', async () => {
    const hash = Buffer.alloc(32, 7);
    expect(await exchange({ password: 'pw', stored: 'pw', clientBinding: hash, serverBinding: hash })).toMatchObject({ ok: true, mechanism: 'SCRAM-SHA-256-PLUS' });
  });

  it('refuses channel binding data of another TLS connection (a man in the middle terminating TLS)', async () => {
    const result = await exchange({ password: 'pw', stored: 'pw', clientBinding: Buffer.alloc(32, 1), serverBinding: Buffer.alloc(32, 2) });
    expect(result).toEqual({ ok: false, why: 'channel binding data does not match this TLS connection' });
  });

  it("refuses a client that could bind but was shown no -PLUS ('y' flag over TLS): the offer was stripped", async () => {
    const result = await exchange({ password: 'pw', stored: 'pw', clientBinding: Buffer.alloc(32, 1), serverBinding: Buffer.alloc(32, 1), offered: ['SCRAM-SHA-256'] });
    expect(result.ok).toBe(false);
    expect(result).toMatchObject({ why: expect.stringContaining('downgrade') });
  });

  it('refuses a tampered nonce, proof or binding in the client-final message', async () => {
    const base = { password: 'pw', stored: 'pw', clientBinding: null, serverBinding: null };
    expect(await exchange({ ...base, tamper: (f) => f.replace(/,r=([^,]+)/, ',r=$1x') })).toEqual({ ok: false, why: 'nonce does not match' });
    expect(await exchange({ ...base, tamper: (f) => f.replace(/p=.*/, `p=${Buffer.alloc(32).toString('base64')}`) })).toEqual({ ok: false, why: 'wrong password' });
    expect(await exchange({ ...base, tamper: (f) => f.replace(/^c=[^,]+/, 'c=eSws') })).toEqual({ ok: false, why: 'channel binding data does not match this TLS connection' });
    expect(await exchange({ ...base, tamper: (f) => f.replace(/,p=.*/, '') })).toEqual({ ok: false, why: 'client-final-message has no proof' });
  });

  it('refuses mechanisms not offered, authorization identities and messages out of order', async () => {
    const verifier = await makeVerifier('pw', 4096);
    expect(new ScramServerExchange({ verifier, channelBinding: null }).initial('SCRAM-SHA-256-PLUS', Buffer.from('p=tls-server-end-point,,n=,r=abc'))).toMatchObject({ ok: false });
    expect(new ScramServerExchange({ verifier, channelBinding: null }).initial('SCRAM-SHA-256', Buffer.from('n,a=admin,n=,r=abc'))).toEqual({ ok: false, why: 'authorization identities are not supported' });
    expect(new ScramServerExchange({ verifier, channelBinding: null }).final(Buffer.from('c=biws,r=x,p=y'))).toMatchObject({ ok: false });
    const s = new ScramServerExchange({ verifier, channelBinding: null });
    expect(s.initial('SCRAM-SHA-256', Buffer.from('n,,n=,r=abc')).ok).toBe(true);
    expect(s.initial('SCRAM-SHA-256', Buffer.from('n,,n=,r=abc')).ok).toBe(false);
  });

  it('gives an unknown name the same salt every time (no oracle), and no password matches it', async () => {
    const secret = Buffer.alloc(32, 9);
    const a = mockVerifier('nobody', secret);
    const b = mockVerifier('nobody', secret);
    expect(a.salt).toEqual(b.salt);
    expect(mockVerifier('other', secret).salt).not.toEqual(a.salt);
    const server = new ScramServerExchange({ verifier: a, channelBinding: null });
    const client = new ScramClientExchange('anything', ['SCRAM-SHA-256'], null, 'prefer');
    const first = server.initial(client.mechanism, client.first());
    expect(first.ok).toBe(true);
    expect(server.final(await client.continue(Buffer.from((first as { reply: string }).reply)))).toEqual({ ok: false, why: 'wrong password' });
  });

  it('client refuses a server that sends a wrong signature or AuthenticationOk without one', async () => {
    const client = new ScramClientExchange('pw', ['SCRAM-SHA-256'], null, 'prefer');
    const nonce = client.first().toString().split('r=')[1]!;
    await client.continue(Buffer.from(`r=${nonce}srv,s=${RFC_SALT.toString('base64')},i=4096`));
    expect(client.isServerVerified).toBe(false);
    expect(() => client.final(Buffer.from(`v=${Buffer.alloc(32).toString('base64')}`))).toThrow(/signature is wrong/);
    expect(() => new ScramClientExchange('pw', ['SCRAM-SHA-256'], null, 'require')).toThrow(/channel_binding=require/);
  });

  it('hashes the server certificate for tls-server-end-point with SHA-256 for SHA-256 signatures', () => {
    expect(serverEndPointHash(Buffer.from('not a certificate')).length).toBe(32);
  });
});

describe('MD5 and SASLprep', () => {
  it('computes the md5 password message libpq sends', () => {
    expect(md5Password('postgres', 'secret', Buffer.from([1, 2, 3, 4]))).toBe('md5bb41a296aab6baccb36ff243a562abff');
  });

  it('leaves ASCII passwords alone, maps non-ASCII spaces, normalises NFKC and keeps prohibited passwords raw', () => {
    expect(saslPrep('pa ss\tword')).toBe('pa ss\tword');
    expect(saslPrep('a\u00a0b')).toBe('a b');
    expect(saslPrep('\ufb01x')).toBe('fix');
    expect(saslPrep('a\u00adb')).toBe('ab');
    expect(saslPrep('a\u0007\u00e9')).toBe('a\u0007\u00e9');
  });
});
