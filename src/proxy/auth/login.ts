// What proxy-terminated authentication establishes, and the conversation an authentication method has with a client.
import type tls from 'node:tls';
import type { AuthError } from '../../errors.js';
import type { AuthMethod } from '../../policy/verdict.js';
import type { UpstreamCredential } from './upstream-login.js';

/** A client pgwarden authenticated itself: who it is, and the upstream login it gets. */
export interface Login {
  readonly identity: string;
  readonly groups: readonly string[];
  readonly owner: string | undefined;
  readonly auth: Exclude<AuthMethod, 'passthrough'>;
  readonly credential: UpstreamCredential;
}

/** The client side of an authentication exchange, as a method sees it. */
export interface AuthConversation {
  /** The user name of the StartupMessage. */
  readonly user: string;
  readonly database: string;
  readonly address: string;
  /** The TLS connection pgwarden terminates, or null for plaintext. */
  readonly tls: tls.TLSSocket | null;
  send(message: Buffer): void;
  /** The client's next PasswordMessage / SASLInitialResponse / SASLResponse (whole frame). */
  receive(): Promise<Buffer>;
}

/** A method's verdict. `why` is for the log; the client sees `error` (default: the generic authentication failure). */
export type MethodResult =
  | { readonly ok: true; readonly identity: string; readonly groups: readonly string[]; readonly owner: string | undefined; readonly finalMessage?: Buffer }
  | { readonly ok: false; readonly why: string; readonly error?: AuthError; readonly presented: boolean };
