import { KeyObject, createPublicKey, createPrivateKey, createSecretKey, type JsonWebKeyInput } from 'node:crypto'
import { errors } from '../errors.js'
import { secretFault } from '../core/option-checks.js'

/** Signature algorithms fastify-warden accepts; anything else (including `none`) is refused. */
export const ALGORITHMS = ['HS256', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const
export type Algorithm = (typeof ALGORITHMS)[number]

/** Every asymmetric algorithm: the default allow-list of a resource server (the key type still decides). */
export const ASYMMETRIC: readonly Algorithm[] = ALGORITHMS.filter((a) => a !== 'HS256')

/**
 * A key and the algorithms it verifies. The key decides (no HS/RS confusion): an EC key its
 * curve's one, an RSA key the RS and PS families, narrowed by a JWK's `alg` when it has one.
 * `alg` is the one it signs with or is published under.
 */
export interface VerificationKey {
  readonly kid: string | undefined
  readonly alg: Algorithm
  readonly algs: ReadonlySet<Algorithm>
  readonly key: KeyObject
}

const CURVES: Record<string, Algorithm> = { prime256v1: 'ES256', secp384r1: 'ES384', secp521r1: 'ES512' }
const RSA: readonly Algorithm[] = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512']

export type KeyInput = string | Buffer | KeyObject

/**
 * A JSON Web Key (RFC 7517), as taken in options and published at the JWKS path. Declared here
 * rather than taken from `node:crypto`: @types/node 26 no longer exports `JsonWebKey` there, and
 * the published declarations must compile against whichever @types/node the user has.
 */
export interface Jwk {
  kty?: string
  kid?: string
  alg?: string
  use?: string
  crv?: string
  x?: string
  y?: string
  n?: string
  e?: string
  [member: string]: unknown
}

/** What `createPublicKey` takes as a JWK under the @types/node in use. */
type NodeJwk = JsonWebKeyInput['key']

/** A JWK from an option or a provider's key set, as `createPublicKey` takes it. */
export const jwkInput = (jwk: Jwk): JsonWebKeyInput => ({ key: jwk as NodeJwk, format: 'jwk' })

const MIN_RSA_BITS = 2048

/** The algorithms an asymmetric key can verify, the first its default; or an error naming the option. */
export function algorithmsOf (option: string, key: KeyObject): readonly Algorithm[] {
  const details = key.asymmetricKeyDetails
  switch (key.asymmetricKeyType) {
    case 'ed25519':
      return ['EdDSA']
    case 'ec': {
      const alg = CURVES[details?.namedCurve ?? '']
      if (alg === undefined) throw new errors.WARDEN_ERR_KEY(option, `curve ${details?.namedCurve} is not supported (P-256, P-384 or P-521)`)
      return [alg]
    }
    case 'rsa':
      if ((details?.modulusLength ?? 0) < MIN_RSA_BITS) throw new errors.WARDEN_ERR_KEY(option, `RSA keys must have at least ${MIN_RSA_BITS} bits`)
      return RSA
    default:
      throw new errors.WARDEN_ERR_KEY(option, `key type ${key.asymmetricKeyType ?? key.type} is not supported (use Ed25519, EC or RSA)`)
  }
}

/**
 * A key for `algorithm` (or its default one), refused with both named when they do not go together
 * (`ES256` with an Ed25519 key must not silently sign EdDSA).
 */
export function keyFor (option: string, kid: string | undefined, key: KeyObject, algorithm?: string): VerificationKey {
  const algs = algorithmsOf(option, key)
  if (algorithm !== undefined && !algs.includes(algorithm as Algorithm)) {
    throw new errors.WARDEN_ERR_KEY(option, `a ${key.asymmetricKeyType} key cannot be used with ${algorithm} (it fits ${algs.join(', ')})`)
  }
  return { kid, alg: (algorithm as Algorithm | undefined) ?? algs[0], algs: new Set(algorithm === undefined ? algs : [algorithm as Algorithm]), key }
}

/** An HS256 secret of at least 32 bytes. */
export function secretKey (option: string, secret: unknown): VerificationKey {
  const fault = secretFault(secret)
  if (fault !== undefined) throw new errors.WARDEN_ERR_KEY(option, fault)
  return { kid: undefined, alg: 'HS256', algs: new Set(['HS256']), key: createSecretKey(Buffer.from(secret as string | Buffer)) }
}

function checkKid (option: string, kid: unknown): string {
  if (typeof kid !== 'string' || !/^[\x21-\x7e]{1,128}$/.test(kid)) throw new errors.WARDEN_ERR_KEY(option, 'kid must be 1 to 128 printable characters')
  return kid
}

/** A private signing key (PEM or KeyObject) with its kid, for `algorithm` or the key's default one. */
export function privateKey (
  option: string,
  kid: unknown,
  input: KeyInput,
  algorithm?: string
): { kid: string; alg: Algorithm; key: KeyObject; publicKey: KeyObject } {
  let key: KeyObject
  try {
    key = input instanceof KeyObject ? input : createPrivateKey(input)
  } catch {
    throw new errors.WARDEN_ERR_KEY(option, 'is not a PEM private key')
  }
  if (key.type !== 'private') throw new errors.WARDEN_ERR_KEY(option, 'must be a private key')
  const checked = checkKid(option, kid)
  return { kid: checked, alg: keyFor(option, checked, key, algorithm).alg, key, publicKey: createPublicKey(key) }
}

/** A public verification key (PEM, JWK or KeyObject) with its kid. */
export function publicKey (option: string, kid: unknown, input: KeyInput | Jwk): VerificationKey {
  let key: KeyObject
  try {
    if (input instanceof KeyObject) key = input.type === 'private' ? createPublicKey(input) : input
    else if (typeof input === 'string' || Buffer.isBuffer(input)) key = createPublicKey(input)
    else key = createPublicKey(jwkInput(input))
  } catch {
    throw new errors.WARDEN_ERR_KEY(option, 'is not a public key')
  }
  if (key.type !== 'public') throw new errors.WARDEN_ERR_KEY(option, 'must be a public key')
  return keyFor(option, checkKid(option, kid), key)
}

/** The public JWK of a verification key, as published at `/.well-known/jwks.json`. */
export function toJwk (key: VerificationKey): Jwk {
  return { ...key.key.export({ format: 'jwk' }), kid: key.kid, alg: key.alg, use: 'sig' }
}
