// auth scram: SCRAM-SHA-256 against the verifier pgwarden stores for the startup user name, with SCRAM-SHA-256-PLUS
// (tls-server-end-point) offered on TLS. An unknown name runs the same exchange against a mock verifier, so neither
// the answers nor their timing say whether the name exists.
import { authenticationSasl, authenticationSaslContinue, authenticationSaslFinal, readSaslInitialResponse, readSaslResponse } from './messages.js';
import { mockVerifier, serverEndPointHash } from './scram.js';
import { ScramServerExchange, scramMechanisms } from './scram-server.js';
import type { IdentityDirectory } from './identities.js';
import type { AuthConversation, MethodResult } from './login.js';

export async function scramMethod(conv: AuthConversation, directory: IdentityDirectory, mockSecret: Buffer): Promise<MethodResult> {
  const stored = directory.verifier(conv.user);
  const certificate = conv.tls?.getCertificate();
  const binding = conv.tls && certificate && 'raw' in certificate && certificate.raw ? serverEndPointHash(certificate.raw) : null;
  const exchange = new ScramServerExchange({ verifier: stored ?? mockVerifier(conv.user, mockSecret), channelBinding: binding });
  conv.send(authenticationSasl(scramMechanisms(binding !== null)));
  const { mechanism, data } = readSaslInitialResponse(await conv.receive());
  const first = exchange.initial(mechanism, data);
  if (!first.ok) return { ok: false, why: first.why, presented: true };
  conv.send(authenticationSaslContinue(first.reply));
  const final = exchange.final(readSaslResponse(await conv.receive()));
  if (!final.ok || !stored) return { ok: false, why: stored ? (final.ok ? 'unreachable' : final.why) : 'no SCRAM verifier for this name', presented: true };
  return { ok: true, identity: conv.user, groups: directory.groups(conv.user), owner: directory.owner(conv.user), finalMessage: authenticationSaslFinal(final.reply) };
}
