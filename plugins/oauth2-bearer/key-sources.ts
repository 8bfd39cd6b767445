import { KeyObject, createPublicKey } from 'node:crypto'
import { errors } from '../errors.js'
import { integerOption, stringOption, urlOption } from '../core/option-checks.js'
import { ALGORITHMS, keyFor, privateKey, publicKey, secretKey, type Algorithm, type VerificationKey } from './keys.js'
import { discoverJwksUri, findKey, metadataUrls, remoteKeySet, type RemoteKeySet, type RemoteKeySetOptions } from './remote-keys.js'
import type { TokenHeader } from './verify.js'
import type { IssuerOptions, OAuth2BearerOptions, OneIssuerOptions } from './options.js'

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

function keySetOptions (prefix: string, keySet: OAuth2BearerOptions['keySet'], now: () => number): RemoteKeySetOptions {
  return {
    now,
    ...(keySet?.cooldown === undefined ? {} : { cooldown: integerOption(`${prefix}keySet.cooldown`, keySet.cooldown, 30_000, 1_000, 3_600_000) }),
    ...(keySet?.maxAge === undefined ? {} : { maxAge: integerOption(`${prefix}keySet.maxAge`, keySet.maxAge, 600_000, 10_000, 86_400_000) }),
    ...(keySet?.timeout === undefined ? {} : { timeout: integerOption(`${prefix}keySet.timeout`, keySet.timeout, 5_000, 100, 60_000) })
  }
}

/** Where a provider's keys are, as an issuer's options give it (`prefix` names the option: `issuers[1].`). */
interface ProviderKeys {
  readonly issuer: unknown
  readonly jwksUrl?: string
  readonly discovery?: boolean | string
  readonly keySet?: OAuth2BearerOptions['keySet']
}

/** A provider's key set, at its JWKS URL or found by discovery from its issuer; `undefined` when neither is given. */
function providerKeys (prefix: string, opts: ProviderKeys, now: () => number): Keys | undefined {
  const discovery = opts.discovery === undefined || opts.discovery === false ? undefined : opts.discovery
  if (opts.jwksUrl !== undefined) {
    const url = urlOption(`${prefix}jwksUrl`, opts.jwksUrl)
    if (url.startsWith('/')) throw new errors.WARDEN_ERR_OPTION(`${prefix}jwksUrl`, 'must be an absolute URL')
    if (!isSecureUrl(url)) {
      throw new errors.WARDEN_ERR_OPTION(`${prefix}jwksUrl`, 'must be https (http only for a provider on this machine: localhost, 127.0.0.1, [::1])')
    }
    const keySet = remoteKeySet(url, keySetOptions(prefix, opts.keySet, now))
    return { signing: undefined, local: [], publicKeys: [], resolve: keySet.resolve, remote: { keySet } }
  }
  if (discovery === undefined) return undefined
  const issuer = stringOption(`${prefix}issuer`, Array.isArray(opts.issuer) ? opts.issuer[0] : opts.issuer)
  const urls = typeof discovery === 'string' ? [urlOption(`${prefix}discovery`, discovery)] : metadataUrls(urlOption(`${prefix}issuer`, issuer))
  for (const url of urls) {
    if (url.startsWith('/') || !isSecureUrl(url)) {
      throw new errors.WARDEN_ERR_OPTION(
        `${prefix}${typeof discovery === 'string' ? 'discovery' : 'issuer'}`,
        'must be an https URL (http only for a provider on this machine)'
      )
    }
  }
  let jwksUri: Promise<string> | undefined
  // Discovered once; a failure is retried on the next fetch of the keys (itself once per cooldown).
  const options = keySetOptions(prefix, opts.keySet, now)
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

/**
 * The keys of one issuer of `issuers`: exactly one of `discovery`, `jwksUrl` or `keys` (public
 * keys you hold, JWK or KeyObject; a JWK's `alg` narrows it as in a provider's key set).
 */
export function issuerKeys (prefix: string, opts: IssuerOptions, now: () => number): Keys {
  const discovery = opts.discovery !== undefined && opts.discovery !== false
  const modes = [opts.jwksUrl !== undefined, discovery, opts.keys !== undefined].filter(Boolean).length
  if (modes !== 1) throw new errors.WARDEN_ERR_OPTION(`${prefix}jwksUrl`, `or '${prefix}discovery' or '${prefix}keys': exactly one must be given`)
  const remote = providerKeys(prefix, opts, now)
  if (remote !== undefined) return remote
  if (!Array.isArray(opts.keys) || opts.keys.length === 0) {
    throw new errors.WARDEN_ERR_OPTION(`${prefix}keys`, 'must be a non-empty list of public keys (JWK or KeyObject)')
  }
  const local: VerificationKey[] = []
  for (const [i, input] of opts.keys.entries()) addKey(local, `${prefix}keys[${i}]`, heldKey(`${prefix}keys[${i}]`, input))
  return { signing: undefined, local, publicKeys: [], resolve: (header) => findKey(local, header) }
}

/** A public key held for an issuer: a KeyObject (a private one reduced to its public half), or a JWK for verifying signatures. */
function heldKey (option: string, input: NonNullable<IssuerOptions['keys']>[number]): VerificationKey {
  if (input instanceof KeyObject) return keyFor(option, undefined, input.type === 'private' ? createPublicKey(input) : input)
  if (input === null || typeof input !== 'object') throw new errors.WARDEN_ERR_KEY(option, 'must be a JWK or a KeyObject')
  // As a provider's JWKS is read (parseJwks): a key for encryption, or not for verifying, verifies nothing.
  const ops = (input as { key_ops?: unknown }).key_ops
  if ((input.use !== undefined && input.use !== 'sig') || (ops !== undefined && !(Array.isArray(ops) && ops.includes('verify')))) {
    throw new errors.WARDEN_ERR_KEY(option, "is not a signature key: its 'use' must be 'sig' and its 'key_ops', if any, must include 'verify'")
  }
  const key = publicKey(option, input.kid ?? 'none', input)
  return keyFor(option, typeof input.kid === 'string' ? input.kid : undefined, key.key, typeof input.alg === 'string' ? input.alg : undefined)
}

/** Add a verification key to a scheme's (or an issuer's) list: a `kid` names one key only. */
function addKey (local: VerificationKey[], option: string, key: VerificationKey): void {
  if (local.some((other) => other.kid === key.kid)) throw new errors.WARDEN_ERR_KEY(option, `kid '${key.kid ?? '(none)'}' is used twice`)
  local.push(key)
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
  const remote = providerKeys('', { ...opts, issuer: (opts as OneIssuerOptions).issuer }, now)
  if (remote !== undefined) return remote
  const signing = privateKey('signingKey.privateKey', opts.signingKey?.kid, opts.signingKey!.privateKey, opts.algorithm)
  const local: VerificationKey[] = [{ kid: signing.kid, alg: signing.alg, algs: new Set([signing.alg]), key: signing.publicKey }]
  for (const [i, k] of (opts.verificationKeys ?? []).entries()) {
    addKey(local, `verificationKeys[${i}]`, publicKey(`verificationKeys[${i}]`, k?.kid, k?.publicKey))
  }
  return {
    signing: { kid: signing.kid, alg: signing.alg, key: signing.key },
    local,
    publicKeys: local,
    resolve: (header) => findKey(local, header)
  }
}
