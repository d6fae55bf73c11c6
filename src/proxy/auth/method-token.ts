// auth oidc: the client's password is a JWT from the organisation's identity provider (or a workload identity token),
// asked for with AuthenticationCleartextPassword — so only ever over TLS: on plaintext the client is refused before it
// could send the token.
import { AuthError } from '../../errors.js';
import { authenticationCleartextPassword, readPasswordMessage } from './messages.js';
import type { OidcValidator } from './oidc.js';
import type { IdentityDirectory } from './identities.js';
import type { AuthConversation, MethodResult } from './login.js';

export async function tokenMethod(conv: AuthConversation, validator: OidcValidator, directory: IdentityDirectory, matchUser: boolean): Promise<MethodResult> {
  if (!conv.tls) return { ok: false, why: 'token authentication on a plaintext connection', error: AuthError.tokenNeedsTls(), presented: false };
  conv.send(authenticationCleartextPassword());
  const token = readPasswordMessage(await conv.receive());
  const result = await validator.validate(token);
  if (!result.ok) return { ok: false, why: `token refused: ${result.why}`, presented: true };
  const { identity } = result.token;
  if (matchUser && identity !== conv.user) return { ok: false, why: `the token is for "${identity}", not for the user name sent (auth.match_user)`, presented: true };
  const groups = [...new Set([...result.token.groups, ...directory.groups(identity)])];
  // The operator's config names the owner first; a token claim (owner, act.sub) fills in where config is silent.
  const owner = directory.owner(identity) ?? result.token.owner ?? undefined;
  return { ok: true, identity, groups, owner };
}
