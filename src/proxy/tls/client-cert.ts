// Client certificates → identity: the first of the configured certificate fields present in a certificate the
// client CA verified (SAN URI such as a SPIFFE id, SAN email, SAN DNS name, or the subject CN, as PostgreSQL's cert auth).
import type tls from 'node:tls';

export const CERT_IDENTITY_FIELDS = ['san_uri', 'san_email', 'san_dns', 'subject_cn'] as const;
export type CertIdentityField = (typeof CERT_IDENTITY_FIELDS)[number];

const SAN_PREFIX: Record<Exclude<CertIdentityField, 'subject_cn'>, string> = { san_uri: 'URI', san_email: 'email', san_dns: 'DNS' };

/** Node's subjectaltname text ("DNS:a, URI:b, email:\"c,d\"") → [type, value] pairs; quoted values are JSON strings. */
export function parseSubjectAltName(text: string): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  let i = 0;
  while (i < text.length) {
    const colon = text.indexOf(':', i);
    if (colon < 0) break;
    const type = text.slice(i, colon).trim();
    let value: string;
    let next: number;
    if (text[colon + 1] === '"') {
      // A JSON string: find its closing quote, honouring escapes.
      let j = colon + 2;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      try {
        value = JSON.parse(text.slice(colon + 1, j + 1)) as string;
      } catch {
        return out;
      }
      next = text.indexOf(',', j + 1);
    } else {
      next = text.indexOf(', ', colon + 1);
      value = text.slice(colon + 1, next < 0 ? text.length : next);
    }
    out.push([type, value]);
    if (next < 0) break;
    i = next + (text[next + 1] === ' ' ? 2 : 1);
  }
  return out;
}

/** The identity a verified client certificate names, or null (no certificate, not verified, or none of the fields). */
export function certificateIdentity(socket: tls.TLSSocket, fields: readonly CertIdentityField[]): string | null {
  if (!socket.authorized) return null;
  const cert = socket.getPeerCertificate();
  if (!cert || Object.keys(cert).length === 0) return null;
  return identityFromCertificate({ subject: cert.subject, subjectaltname: cert.subjectaltname }, fields);
}

export function identityFromCertificate(cert: { subject?: { CN?: string | string[] }; subjectaltname?: string | undefined }, fields: readonly CertIdentityField[]): string | null {
  const sans = parseSubjectAltName(cert.subjectaltname ?? '');
  for (const field of fields) {
    if (field === 'subject_cn') {
      const cn = cert.subject?.CN;
      // A subject with several CNs is ambiguous: refuse it rather than pick one.
      if (typeof cn === 'string' && cn !== '') return cn;
      continue;
    }
    const values = sans.filter(([type]) => type === SAN_PREFIX[field]).map(([, v]) => v);
    if (values.length === 1 && values[0] !== '') return values[0]!;
  }
  return null;
}
