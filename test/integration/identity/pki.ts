// A local certificate authority for the identity tests, made with the openssl CLI: a CA, server certificates for
// pgwarden and the TLS-only upstream (localhost, 127.0.0.1, pgwarden.test), and client certificates. Kept in the
// test state directory so every test file and the long-running upstream cluster share one CA.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Issued {
  readonly cert: string;
  readonly key: string;
}

export interface Pki {
  readonly dir: string;
  readonly caCert: string;
  /** A second, unrelated CA: what a client trusting the wrong authority has. */
  readonly otherCaCert: string;
  /** Issues (or reuses) a certificate signed by the CA. */
  issue(name: string, opts: { cn: string; san?: string[]; usage: 'server' | 'client'; ca?: 'main' | 'other' }): Issued;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

function makeCa(dir: string, name: string, cn: string): void {
  if (existsSync(join(dir, `${name}.crt`))) return;
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '30', '-subj', `/CN=${cn}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
}

export function testPki(): Pki {
  const dir = join(process.env.PGWARDEN_TEST_STATE ?? '/tmp/pgwarden-test', 'identity-pki');
  mkdirSync(dir, { recursive: true });
  makeCa(dir, 'ca', 'pgwarden test CA');
  makeCa(dir, 'other-ca', 'some other CA');
  return {
    dir,
    caCert: join(dir, 'ca.crt'),
    otherCaCert: join(dir, 'other-ca.crt'),
    issue(name, opts) {
      const cert = join(dir, `${name}.crt`);
      const key = join(dir, `${name}.key`);
      if (existsSync(cert) && existsSync(key)) return { cert, key };
      const ca = opts.ca === 'other' ? 'other-ca' : 'ca';
      const ext = [
        opts.san && opts.san.length > 0 ? `subjectAltName=${opts.san.join(',')}` : '',
        `extendedKeyUsage=${opts.usage === 'server' ? 'serverAuth' : 'clientAuth'}`,
        'basicConstraints=CA:FALSE',
      ].filter(Boolean);
      writeFileSync(join(dir, `${name}.ext`), ext.join('\n') + '\n');
      openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${opts.cn}`], dir);
      openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.crt`, '-days', '30', '-extfile', `${name}.ext`], dir);
      // libpq refuses a client key others can read.
      chmodSync(key, 0o600);
      return { cert, key };
    },
  };
}

/** The server certificate pgwarden presents in the tests. */
export function pgwardenCert(pki: Pki, name = 'pgwarden'): Issued {
  return pki.issue(name, { cn: 'pgwarden.test', san: ['DNS:localhost', 'DNS:pgwarden.test', 'IP:127.0.0.1'], usage: 'server' });
}

export function pem(file: string): string {
  return readFileSync(file, 'utf8');
}
