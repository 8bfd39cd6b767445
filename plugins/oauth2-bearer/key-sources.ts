import type { KeyObject } from 'node:crypto'
import { errors } from '../errors.js'
import { integerOption, stringOption, urlOption } from '../core/option-checks.js'
import { ALGORITHMS, privateKey, publicKey, secretKey, type Algorithm, type VerificationKey } from './keys.js'
import { discoverJwksUri, findKey, metadataUrls, remoteKeySet, type RemoteKeySet, type RemoteKeySetOptions } from './remote-keys.js'
import type { TokenHeader } from './verify.js'
import type { OAuth2BearerOptions } from './options.js'

/** Where a scheme's keys come from: a secret, a signing key (and previous ones), or a provider. */
export interface Keys {
  /** The key that signs (a secret or a private key); `undefined` in resource-server mode. */
  signing: { kid: string | undefined; alg: Algorithm; key: KeyObject } | undefined
  local: VerificationKey[]
  /** What may be published (JWKS): the asymmetric keys of this service; none for a secret or a provider. */
  publicKeys: readonly VerificationKey[]
  resolve: (header: TokenHeader) => VerificationKey | undefined | Promise<VerificationKey | undefined>
  /** Resource-server mode: the provider's key set, and the metadata URL when discovered. */
  remote?: { keySet: RemoteKeySet; metadataUrl?: string }
}

/** https, or http to this machine only: keys fetched in clear text from elsewhere could be anyone's. */
function isSecureUrl (url: string): boolean {
  const { protocol, hostname } = new URL(url)
  return protocol === 'https:' || ['localhost', '127.0.0.1', '[::1]'].includes(hostname)
}

function keySetOptions (opts: OAuth2BearerOptions, now: () => number): RemoteKeySetOptions {
  return {
    now,
    ...(opts.keySet?.cooldown === undefined ? {} : { cooldown: integerOption('keySet.cooldown', opts.keySet.cooldown, 30_000, 1_000, 3_600_000) }),
    ...(opts.keySet?.maxAge === undefined ? {} : { maxAge: integerOption('keySet.maxAge', opts.keySet.maxAge, 600_000, 10_000, 86_400_000) }),
    ...(opts.keySet?.timeout === undefined ? {} : { timeout: integerOption('keySet.timeout', opts.keySet.timeout, 5_000, 100, 60_000) })
  }
}

export function loadKeys (opts: OAuth2BearerOptions, now: () => number): Keys {
  const discovery = opts.discovery === undefined || opts.discovery === false ? undefined : opts.discovery
  const modes = [opts.secret !== undefined, opts.signingKey !== undefined, opts.jwksUrl !== undefined, discovery !== undefined].filter(Boolean).length
  if (modes !== 1) throw new errors.WARDEN_ERR_OPTION('secret', "or 'signingKey' or 'jwksUrl' or 'discovery': exactly one must be given")
  if (opts.algorithm !== undefined && !(ALGORITHMS as readonly string[]).includes(opts.algorithm)) {
    throw new errors.WARDEN_ERR_OPTION('algorithm', `must be one of ${ALGORITHMS.join(', ')}`)
  }
  if (opts.secret !== undefined) {
    if (opts.verificationKeys !== undefined) {
      throw new errors.WARDEN_ERR_OPTION('verificationKeys', "is for asymmetric keys; it cannot be combined with 'secret'")
    }
    if (opts.algorithm !== undefined && opts.algorithm !== 'HS256') throw new errors.WARDEN_ERR_KEY('secret', `a secret signs HS256, not ${opts.algorithm}`)
    const key = secretKey('secret', opts.secret)
    return { signing: { kid: undefined, alg: 'HS256', key: key.key }, local: [key], publicKeys: [], resolve: () => key }
  }
  if (opts.jwksUrl !== undefined) {
    const url = urlOption('jwksUrl', opts.jwksUrl)
    if (url.startsWith('/')) throw new errors.WARDEN_ERR_OPTION('jwksUrl', 'must be an absolute URL')
    if (!isSecureUrl(url)) {
      throw new errors.WARDEN_ERR_OPTION('jwksUrl', 'must be https (http only for a provider on this machine: localhost, 127.0.0.1, [::1])')
    }
    const keySet = remoteKeySet(url, keySetOptions(opts, now))
    return { signing: undefined, local: [], publicKeys: [], resolve: keySet.resolve, remote: { keySet } }
  }
  if (discovery !== undefined) {
    const issuer = stringOption('issuer', Array.isArray(opts.issuer) ? opts.issuer[0] : opts.issuer)
    const urls = typeof discovery === 'string' ? [urlOption('discovery', discovery)] : metadataUrls(urlOption('issuer', issuer))
    for (const url of urls) {
      if (url.startsWith('/') || !isSecureUrl(url)) {
        throw new errors.WARDEN_ERR_OPTION(
          typeof discovery === 'string' ? 'discovery' : 'issuer',
          'must be an https URL (http only for a provider on this machine)'
        )
      }
    }
    let jwksUri: Promise<string> | undefined
    // Discovered once; a failure is retried on the next fetch of the keys (itself once per cooldown).
    const options = keySetOptions(opts, now)
    const keySet = remoteKeySet(
      async () =>
        await (jwksUri ??= discoverJwksUri(issuer, urls, options.timeout ?? 5_000, isSecureUrl).catch((err: unknown) => {
          jwksUri = undefined
          throw err
        })),
      options
    )
    return { signing: undefined, local: [], publicKeys: [], resolve: keySet.resolve, remote: { keySet, metadataUrl: urls[0] } }
  }
  const signing = privateKey('signingKey.privateKey', opts.signingKey?.kid, opts.signingKey!.privateKey, opts.algorithm)
  const local: VerificationKey[] = [{ kid: signing.kid, alg: signing.alg, algs: new Set([signing.alg]), key: signing.publicKey }]
  for (const [i, k] of (opts.verificationKeys ?? []).entries()) {
    const key = publicKey(`verificationKeys[${i}]`, k?.kid, k?.publicKey)
    if (local.some((other) => other.kid === key.kid)) throw new errors.WARDEN_ERR_KEY(`verificationKeys[${i}]`, `kid '${key.kid}' is used twice`)
    local.push(key)
  }
  return {
    signing: { kid: signing.kid, alg: signing.alg, key: signing.key },
    local,
    publicKeys: local,
    resolve: (header) => findKey(local, header)
  }
}
