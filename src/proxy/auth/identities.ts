// The identity directory: what the config says about each identity (owner, groups, SCRAM verifier, connection limit)
// and which upstream role and password it logs in with. Passwords come from environment variables (read once, at
// start) or files (read at every login, so a rotated Kubernetes secret takes effect without a restart), and are held
// only as Secret values: they never reach a log line, an error, a card or the audit log.
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { ConfigError } from '../../errors.js';
import { Secret } from '../../units.js';
import { parseVerifier, type ScramVerifier } from './scram.js';
import type { UpstreamCredential } from './upstream-login.js';

export interface CredentialSpec {
  readonly user: string;
  readonly password_env?: string | undefined;
  readonly password_file?: string | undefined;
}

export interface IdentitySpec {
  readonly owner?: string | undefined;
  readonly groups?: readonly string[] | undefined;
  /** The verifier text, as a Secret (it is not a password, but an offline-guessing target all the same). */
  readonly scram?: Secret | undefined;
  readonly upstream?: CredentialSpec | undefined;
  readonly max_connections?: number | undefined;
}

export interface DirectoryOptions {
  readonly identities: Readonly<Record<string, IdentitySpec>>;
  /** In config order: the first group of an identity that has a mapping decides. */
  readonly groups: Readonly<Record<string, { readonly upstream: CredentialSpec }>>;
  readonly defaultUpstream?: CredentialSpec | undefined;
  readonly maxConnectionsPerIdentity: number;
  readonly env: NodeJS.ProcessEnv;
}

/** One trailing newline is not part of a secret file's content (`echo pw > file`). */
function stripNewline(text: string): string {
  return text.replace(/\r?\n$/, '');
}

function credential(spec: CredentialSpec, where: string, env: NodeJS.ProcessEnv): UpstreamCredential {
  if (spec.password_env) {
    const value = env[spec.password_env];
    if (value === undefined || value === '') throw new ConfigError(`${where}.password_env: the environment variable ${spec.password_env} is not set`);
    const secret = new Secret(value);
    return { user: spec.user, password: () => Promise.resolve(secret) };
  }
  const file = spec.password_file;
  if (file) {
    try {
      readFileSync(file);
    } catch (err) {
      throw new ConfigError(`${where}.password_file: ${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    }
    return {
      user: spec.user,
      password: async () => {
        try {
          return new Secret(stripNewline(await readFile(file, 'utf8')));
        } catch (err) {
          throw new Error(`the password file of upstream role "${spec.user}" (${file}) cannot be read: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
        }
      },
    };
  }
  return { user: spec.user, password: () => Promise.resolve(null) };
}

interface Entry {
  readonly owner: string | undefined;
  readonly groups: readonly string[];
  readonly verifier: ScramVerifier | null;
  readonly credential: UpstreamCredential | null;
  readonly maxConnections: number;
}

export class IdentityDirectory {
  private readonly entries = new Map<string, Entry>();
  private readonly groupCredentials: Array<[string, UpstreamCredential]> = [];
  private readonly defaultCredential: UpstreamCredential | null;

  constructor(private readonly options: DirectoryOptions) {
    for (const [name, spec] of Object.entries(options.identities)) {
      const verifierText = spec.scram?.reveal();
      const verifier = verifierText === undefined ? null : parseVerifier(verifierText);
      if (verifierText !== undefined && !verifier) throw new ConfigError(`identities.${name}.scram: not a valid SCRAM-SHA-256 verifier; generate one with \`pgwarden passwd ${name}\``);
      this.entries.set(name, {
        owner: spec.owner?.trim() || undefined,
        groups: [...(spec.groups ?? [])],
        verifier,
        credential: spec.upstream ? credential(spec.upstream, `identities.${name}.upstream`, options.env) : null,
        maxConnections: spec.max_connections ?? options.maxConnectionsPerIdentity,
      });
    }
    for (const [group, spec] of Object.entries(options.groups)) this.groupCredentials.push([group, credential(spec.upstream, `auth.groups.${group}.upstream`, options.env)]);
    this.defaultCredential = options.defaultUpstream ? credential(options.defaultUpstream, 'auth.upstream', options.env) : null;
  }

  /** The stored SCRAM verifier of `name`, or null (unknown name, or no verifier: SCRAM then fails for it). */
  verifier(name: string): ScramVerifier | null {
    return this.entries.get(name)?.verifier ?? null;
  }

  /** The configured owner: exact name first, then case-insensitively (finding an owner too readily is the safe mistake). */
  owner(name: string): string | undefined {
    const exact = this.entries.get(name);
    if (exact) return exact.owner;
    const folded = name.trim().toLowerCase();
    for (const [key, entry] of this.entries) if (key.trim().toLowerCase() === folded && entry.owner) return entry.owner;
    return undefined;
  }

  /** Groups from config. */
  groups(name: string): readonly string[] {
    return this.entries.get(name)?.groups ?? [];
  }

  /** Open connections allowed for `name` (0 = no limit). */
  maxConnections(name: string): number {
    return this.entries.get(name)?.maxConnections ?? this.options.maxConnectionsPerIdentity;
  }

  /** The upstream login of an identity: its own mapping, else its first mapped group (config order), else auth.upstream. */
  credential(name: string, groups: readonly string[]): UpstreamCredential | null {
    const own = this.entries.get(name)?.credential;
    if (own) return own;
    for (const [group, cred] of this.groupCredentials) if (groups.includes(group)) return cred;
    return this.defaultCredential;
  }
}
