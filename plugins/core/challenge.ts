import type { ChallengeKind } from './types.js'
import { errors } from '../errors.js'

/**
 * Control characters: header values must not carry them (quoted-string escapes `\` and `"`,
 * RFC 9110 §5.6.4), nor may Basic user-ids and passwords (RFC 7617 §2).
 */
// eslint-disable-next-line no-control-regex -- control characters are what it finds
export const CONTROL = /[\u0000-\u001f\u007f]/

/** RFC 6749 §3.3 scope-token, bounded: what a requirement names and a challenge's `scope` carries. */
export const SCOPE = /^[\x21\x23-\x5b\x5d-\x7e]{1,128}$/

/** Check that `value` can stand in a quoted challenge parameter; throws naming `option` if not. */
export function assertHeaderSafe (option: string, value: string): void {
  // A header value is Latin-1 (Node refuses any other character when the reply is written, which
  // would turn every challenge into a 500): such a realm is refused here, at registration.
  if (typeof value !== 'string' || value.length === 0 || value.length > 200 || CONTROL.test(value) || /[\u0100-\uffff]/.test(value)) {
    throw new errors.WARDEN_ERR_OPTION(option, 'must be a non-empty string of at most 200 Latin-1 characters without control characters')
  }
}

function quote (value: string): string {
  return '"' + value.replace(/[\\"]/g, '\\$&') + '"'
}

/**
 * Build the challenge function of a scheme. `params` are the scheme's own auth-params
 * (realm first). With `errorCodes` the RFC 6750 `error` parameter is added for invalid and
 * insufficient-scope replies, and `scope` (RFC 6750 §3: the scopes the route needs) to every
 * reply of a route that asks for some (Bearer; also used by the API-key scheme); without it
 * (Basic, RFC 7617) every reply carries the same challenge. Called when a route is compiled.
 */
export function challengeBuilder (
  authScheme: string,
  params: ReadonlyArray<readonly [string, string]>,
  errorCodes: boolean
): (kind: ChallengeKind, scope?: string) => string {
  const base = authScheme + ' ' + params.map(([k, v]) => `${k}=${quote(v)}`).join(', ')
  if (!errorCodes) return () => base
  const errorOf = { missing: '', invalid: ', error="invalid_token"', insufficient_scope: ', error="insufficient_scope"' }
  return (kind, scope) => base + errorOf[kind] + (scope ? ', scope=' + quote(scope) : '')
}

/**
 * The `Basic` challenge (RFC 7617 §2): the realm, and UTF-8 as the charset of user-ids and
 * passwords; the same for every reply. One place for both users of Basic: the `basicAuth` scheme
 * and client authentication at the token endpoint (RFC 6749 §2.3.1).
 */
export function basicChallenge (realm: string): (kind: ChallengeKind) => string {
  return challengeBuilder('Basic', [['realm', realm], ['charset', 'UTF-8']], false)
}
