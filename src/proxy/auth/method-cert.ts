// auth cert: the client proved its identity in the TLS handshake with a certificate the client CA (tls.client_ca)
// signed; its SAN/subject names the identity (tls.client_identity_from). No password is asked, as PostgreSQL's cert.
import { AuthError } from '../../errors.js';
import { certificateIdentity, type CertIdentityField } from '../tls/client-cert.js';
import type { IdentityDirectory } from './identities.js';
import type { AuthConversation, MethodResult } from './login.js';

export function certMethod(conv: AuthConversation, fields: readonly CertIdentityField[], directory: IdentityDirectory, matchUser: boolean): MethodResult {
  if (!conv.tls) return { ok: false, why: 'certificate authentication on a plaintext connection', error: AuthError.certificateRequired(), presented: false };
  const identity = certificateIdentity(conv.tls, fields);
  if (!identity) {
    const why = conv.tls.authorized ? `the certificate has none of ${fields.join(', ')}` : `no verified client certificate (${String(conv.tls.authorizationError ?? 'none sent')})`;
    return { ok: false, why, error: AuthError.certificateRequired(), presented: Object.keys(conv.tls.getPeerCertificate() ?? {}).length > 0 };
  }
  if (matchUser && identity !== conv.user) return { ok: false, why: `the certificate is for "${identity}", not for the user name sent (auth.match_user)`, presented: true };
  return { ok: true, identity, groups: directory.groups(identity), owner: directory.owner(identity) };
}
