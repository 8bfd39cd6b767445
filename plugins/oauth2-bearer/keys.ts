import { KeyObject, createPublicKey, createPrivateKey, createSecretKey, type JsonWebKey } from 'node:crypto'
import { errors } from '../errors.js'

/** Signature algorithms fastify-warden accepts; anything else (including `none`) is refused. */
export const ALGORITHMS = ['HS256', 'EdDSA', 'ES256', 'RS256'] as const
export type Algorithm = typeof ALGORITHMS[number]

/** A key that verifies tokens of exactly one algorithm (no HS/RS confusion: the key decides). */
export interface VerificationKey {
  readonly kid: string | undefined
  readonly alg: Algorithm
  readonly key: KeyObject
}

export type KeyInput = string | Buffer | KeyObject

const MIN_SECRET_BYTES = 32
const MIN_RSA_BITS = 2048

/** The algorithm an asymmetric key is for, or an error naming the option. */
export function algorithmOf (option: string, key: KeyObject): Algorithm {
  const details = key.asymmetricKeyDetails
  switch (key.asymmetricKeyType) {
    case 'ed25519': return 'EdDSA'
    case 'ec':
      if (details?.namedCurve === 'prime256v1') return 'ES256'
      throw new errors.WARDEN_ERR_KEY(option, `curve ${details?.namedCurve} is not supported (ES256 needs P-256)`)
    case 'rsa':
      if ((details?.modulusLength ?? 0) < MIN_RSA_BITS) throw new errors.WARDEN_ERR_KEY(option, `RSA keys must have at least ${MIN_RSA_BITS} bits`)
      return 'RS256'
    default:
      throw new errors.WARDEN_ERR_KEY(option, `key type ${key.asymmetricKeyType ?? key.type} is not supported (use Ed25519, P-256 or RSA)`)
  }
}

/** An HS256 secret of at least 32 bytes. */
export function secretKey (option: string, secret: unknown): VerificationKey {
  if (typeof secret !== 'string' && !Buffer.isBuffer(secret)) throw new errors.WARDEN_ERR_KEY(option, 'must be a string or a Buffer')
  const bytes = Buffer.from(secret)
  if (bytes.length < MIN_SECRET_BYTES) throw new errors.WARDEN_ERR_KEY(option, `must be at least ${MIN_SECRET_BYTES} bytes (RFC 7518 §3.2)`)
  return { kid: undefined, alg: 'HS256', key: createSecretKey(bytes) }
}

function checkKid (option: string, kid: unknown): string {
  if (typeof kid !== 'string' || !/^[\x21-\x7e]{1,128}$/.test(kid)) throw new errors.WARDEN_ERR_KEY(option, 'kid must be 1 to 128 printable characters')
  return kid
}

/** A private signing key (PEM or KeyObject) with its kid. */
export function privateKey (option: string, kid: unknown, input: KeyInput): { kid: string, alg: Algorithm, key: KeyObject, publicKey: KeyObject } {
  let key: KeyObject
  try {
    key = input instanceof KeyObject ? input : createPrivateKey(input)
  } catch {
    throw new errors.WARDEN_ERR_KEY(option, 'is not a PEM private key')
  }
  if (key.type !== 'private') throw new errors.WARDEN_ERR_KEY(option, 'must be a private key')
  return { kid: checkKid(option, kid), alg: algorithmOf(option, key), key, publicKey: createPublicKey(key) }
}

/** A public verification key (PEM, JWK or KeyObject) with its kid. */
export function publicKey (option: string, kid: unknown, input: KeyInput | JsonWebKey): VerificationKey {
  let key: KeyObject
  try {
    if (input instanceof KeyObject) key = input.type === 'private' ? createPublicKey(input) : input
    else if (typeof input === 'string' || Buffer.isBuffer(input)) key = createPublicKey(input)
    else key = createPublicKey({ key: input, format: 'jwk' })
  } catch {
    throw new errors.WARDEN_ERR_KEY(option, 'is not a public key')
  }
  if (key.type !== 'public') throw new errors.WARDEN_ERR_KEY(option, 'must be a public key')
  return { kid: checkKid(option, kid), alg: algorithmOf(option, key), key }
}

/** The public JWK of a verification key, as published at `/.well-known/jwks.json`. */
export function toJwk (key: VerificationKey): JsonWebKey {
  return { ...key.key.export({ format: 'jwk' }), kid: key.kid, alg: key.alg, use: 'sig' }
}
