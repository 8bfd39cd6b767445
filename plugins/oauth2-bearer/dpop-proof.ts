import { createHash, createPublicKey, type KeyObject } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import { safeEqual } from '../core/compare.js'
import { InvalidDpopProof } from '../errors.js'
import { ASYMMETRIC, algorithmsOf, jwkInput, type Algorithm, type Jwk, type VerificationKey } from './keys.js'
import { checkSignature, decodeJson, splitToken, type TokenParts } from './verify.js'
import type { DpopNonces } from './dpop-nonce.js'

/*
 * DPoP proofs (RFC 9449 §4.3), checked by hand like access tokens (verify.ts): one short path per
 * request, the header (algorithm and public key) parsed and imported once per distinct header.
 */

/** The members of each key type that make its RFC 7638 thumbprint, in lexicographic order. */
const THUMBPRINT_MEMBERS: Record<string, readonly string[]> = { EC: ['crv', 'kty', 'x', 'y'], RSA: ['e', 'kty', 'n'], OKP: ['crv', 'kty', 'x'] }
/** Members only a private (or symmetric) JWK has (RFC 7518 §6). */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k']
const MAX_JTI_LENGTH = 256
/** Distinct proof headers kept imported: one per client key in use; the oldest goes first. */
const HEADER_CACHE_MAX = 1024

/**
 * The RFC 7638 SHA-256 thumbprint of a public JWK, base64url: what `cnf.jkt` of a DPoP-bound
 * token holds (RFC 9449 §6.1). Refused (`InvalidDpopProof`) for another key type or a member that is not a string.
 */
export function jwkThumbprint (jwk: Jwk): string {
  const members = THUMBPRINT_MEMBERS[jwk.kty ?? '']
  if (members === undefined) throw new InvalidDpopProof('jwk key type not supported')
  const required: Record<string, string> = {}
  for (const name of members) {
    const value = jwk[name]
    if (typeof value !== 'string') throw new InvalidDpopProof(`jwk member ${name} is not a string`)
    required[name] = value
  }
  return createHash('sha256').update(JSON.stringify(required)).digest('base64url')
}

/** What is expected of a proof: the request it came with, and the access token it goes with, if any. */
export interface ProofExpectations {
  /** The request's method, compared exactly with `htm`. */
  readonly method: string
  /** The request's URI (`requestUri()`); `htu` must be it without query and fragment. */
  readonly uri: string
  /** The access token presented with the proof: `ath` must be its hash. */
  readonly accessToken?: string
  /** The server nonce check (`DpopNonces.check`), given the proof's `nonce`; false refuses with `use_dpop_nonce`. */
  readonly nonce?: DpopNonces['check']
}

export interface ProofRules {
  /** The asymmetric algorithms accepted; HS256 is refused even when listed. */
  readonly algorithms: ReadonlySet<Algorithm>
  /** Seconds after its `iat` that a proof is accepted. */
  readonly lifetime: number
  /** Seconds of leeway either side of the `iat` window. */
  readonly clockTolerance: number
  /** Milliseconds since the epoch; tests freeze it. */
  readonly now: () => number
}

export interface VerifiedProof {
  /** The RFC 7638 thumbprint of the proof's key: `cnf.jkt` of the token it binds. */
  readonly jkt: string
  readonly jti: string
  /** Seconds since the epoch. */
  readonly iat: number
  /** For the replay cache: a digest of `jkt` and `jti`, fixed length whatever the `jti`. */
  readonly replayKey: string
  /** Milliseconds since the epoch until which the proof would be accepted, so its `jti` must be remembered. */
  readonly expiresAt: number
}

/** A proof header that passed its checks: its algorithm, its key (imported) and the key's thumbprint. */
interface ProofHeader {
  readonly alg: Algorithm
  readonly key: VerificationKey
  readonly jkt: string
}

const isObject = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value)

const decodeObject = (segment: string, what: string): Record<string, unknown> => decodeJson(segment, what, (reason) => new InvalidDpopProof(reason))

const MAX_RSA_BITS = 4096
const MAX_RSA_EXPONENT = 65537n

/**
 * An `alg` as it is checked: RFC 9864 §2.2's fully-specified `Ed25519` is EdDSA on Ed25519, the
 * one EdDSA curve taken here (oauth4webapi signs proofs so, oidc-provider takes them).
 */
const asChecked = (alg: unknown): unknown => (alg === 'Ed25519' ? 'EdDSA' : alg)

function importKey (jwk: Record<string, unknown>, alg: Algorithm): VerificationKey {
  for (const name of PRIVATE_MEMBERS) {
    if (name in jwk) throw new InvalidDpopProof('jwk is not a public key')
  }
  if (jwk.alg !== undefined && asChecked(jwk.alg) !== alg) throw new InvalidDpopProof('jwk alg does not match the header alg')
  let key: KeyObject
  let algs: readonly Algorithm[]
  try {
    key = createPublicKey(jwkInput(jwk))
    algs = algorithmsOf('DPoP jwk', key)
  } catch {
    throw new InvalidDpopProof('jwk is not a supported public key')
  }
  if (!algs.includes(alg)) throw new InvalidDpopProof('jwk key type does not fit the alg')
  // A client's key costs what its verification costs, and anyone may send one (a token request
  // needs no login): an RSA exponent or modulus beyond what keys use would make each check a
  // long modular exponentiation on the event loop.
  const details = key.asymmetricKeyDetails
  if (key.asymmetricKeyType === 'rsa' && ((details?.modulusLength ?? 0) > MAX_RSA_BITS || (details?.publicExponent ?? 0n) > MAX_RSA_EXPONENT)) {
    throw new InvalidDpopProof('RSA key of more than 4096 bits or an exponent above 65537')
  }
  return { kid: undefined, alg, algs: new Set([alg]), key }
}

/** Check a proof's protected header (RFC 9449 §4.3 points 4 to 7, the signature aside). */
function parseHeader (segment: string): ProofHeader {
  const header = decodeObject(segment, 'header')
  if (header.typ !== 'dpop+jwt') throw new InvalidDpopProof('typ is not dpop+jwt')
  // Checked against the rules' allow-list on every proof; here only what no rule can allow (none, HS256).
  const alg = asChecked(header.alg)
  if (!ASYMMETRIC.includes(alg as Algorithm)) throw new InvalidDpopProof('algorithm not allowed')
  // We implement no extension: RFC 7515 §4.1.11 says refuse one marked critical.
  if ('crit' in header) throw new InvalidDpopProof('header crit not accepted')
  if (!isObject(header.jwk)) throw new InvalidDpopProof('jwk missing')
  const key = importKey(header.jwk, alg as Algorithm)
  return { alg: alg as Algorithm, key, jkt: jwkThumbprint(header.jwk as Jwk) }
}

// Proof headers repeat on every request of a client (one per key): each is parsed and its key
// imported once. Shared by every verifier, as a header's meaning depends on no rule.
const headers = new Map<string, ProofHeader>()
function headerOf (segment: string): ProofHeader {
  let header = headers.get(segment)
  if (header === undefined) {
    header = parseHeader(segment)
    if (headers.size >= HEADER_CACHE_MAX) headers.delete(headers.keys().next().value as string)
    headers.set(segment, header)
  }
  return header
}

/** `uri` as `htu` is compared (RFC 9449 §4.3 point 9): WHATWG-normalised, without query and fragment; undefined if not http(s). */
function withoutQuery (uri: string): string | undefined {
  let url: URL
  try {
    url = new URL(uri)
  } catch {
    return undefined
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined
  url.search = ''
  url.hash = ''
  return url.href
}

/** The path (and query) of an absolute URI: what follows its authority. */
export const pathOf = (uri: string): string => uri.slice(uri.indexOf('/', uri.indexOf('//') + 2))

/**
 * The request's URI as `htu` is compared with it, or undefined when its path is not in normal
 * form: Fastify routes the path as sent, so one whose dot segments, `%2e` or backslashes URL
 * normalisation would remove reaches another route than the one a proof for its normal form names.
 */
function requestTarget (uri: string): string | undefined {
  const normal = withoutQuery(uri)
  if (normal === undefined) return undefined
  const path = /^[^?#]*/.exec(pathOf(uri))![0]
  return new URL(normal).pathname === path ? normal : undefined
}

// Most clients send the URI exactly as the server rebuilds it: equal strings need no parsing.
const sameUri = (htu: string, uri: string): boolean => {
  const target = requestTarget(uri)
  return target !== undefined && (htu === uri || withoutQuery(htu) === target)
}

const digest = (text: string): string => createHash('sha256').update(text).digest('base64url')

/** The payload's checks (RFC 9449 §4.3 points 9 to 12), once the signature has held. */
function checkPayload (claims: Record<string, unknown>, jkt: string, expected: ProofExpectations, rules: ProofRules): VerifiedProof {
  const { jti, iat, ath, nonce } = claims
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > MAX_JTI_LENGTH) throw new InvalidDpopProof('jti missing or too long')
  if (claims.htm !== expected.method) throw new InvalidDpopProof('htm does not match the method')
  if (typeof claims.htu !== 'string' || !sameUri(claims.htu, expected.uri)) throw new InvalidDpopProof('htu does not match the URI')
  if (typeof iat !== 'number' || !Number.isFinite(iat)) throw new InvalidDpopProof('iat missing')
  const now = rules.now() / 1000
  if (iat < now - rules.lifetime - rules.clockTolerance) throw new InvalidDpopProof('iat too old')
  if (iat > now + rules.clockTolerance) throw new InvalidDpopProof('iat in the future')
  if (expected.accessToken !== undefined) {
    if (typeof ath !== 'string') throw new InvalidDpopProof('ath missing')
    if (!safeEqual(Buffer.from(ath), Buffer.from(digest(expected.accessToken)))) throw new InvalidDpopProof('ath does not match the access token')
  }
  if (expected.nonce !== undefined) {
    if (nonce !== undefined && typeof nonce !== 'string') throw new InvalidDpopProof('nonce is not a string')
    if (!expected.nonce(nonce)) throw new InvalidDpopProof(nonce === undefined ? 'nonce missing' : 'nonce not current', 'use_dpop_nonce')
  }
  // Accepted up to the last millisecond of its window, so remembered until just after it.
  const expiresAt = Math.floor((iat + rules.lifetime + rules.clockTolerance) * 1000) + 1
  return { jkt, jti, iat, replayKey: digest(`${jkt}.${jti}`), expiresAt }
}

/**
 * Verify a DPoP proof (RFC 9449 §4.3) for a request, or refuse it with `InvalidDpopProof`: its
 * `error` is `use_dpop_nonce` when only the server nonce is missing or stale. The caller checks
 * `replayKey` in its replay cache and, for a bound token, `jkt` against `cnf.jkt`.
 */
export function verifyProof (proof: string, expected: ProofExpectations, rules: ProofRules): VerifiedProof {
  let parts: TokenParts
  try {
    parts = splitToken(proof)
  } catch {
    throw new InvalidDpopProof('not a compact JWS')
  }
  const header = headerOf(parts.header)
  if (!rules.algorithms.has(header.alg)) throw new InvalidDpopProof('algorithm not allowed')
  try {
    checkSignature(header.key, header.alg, parts.input, parts.signature)
  } catch {
    // The key was imported for this very algorithm: the signature is what failed.
    throw new InvalidDpopProof('bad signature')
  }
  return checkPayload(decodeObject(parts.payload, 'payload'), header.jkt, expected, rules)
}

/**
 * The request's one `DPoP` header, undefined without one; refused when empty or sent more than
 * once (Node joins repeated headers with ", ", and a compact JWS holds neither comma nor space).
 */
export function dpopProofHeader (headers: FastifyRequest['headers']): string | undefined {
  const value = headers.dpop
  if (value === undefined) return undefined
  if (Array.isArray(value) ? value.length !== 1 : value.includes(',') || value.includes(' ')) throw new InvalidDpopProof('more than one DPoP header')
  const proof = Array.isArray(value) ? value[0] : value
  if (proof.length === 0) throw new InvalidDpopProof('DPoP header is empty')
  return proof
}

/**
 * The URI a proof's `htu` must name: scheme, host and path as Fastify sees them (`trustProxy`
 * applies), without the query. The path is the one the client sent, before any `rewriteUrl`.
 */
export function requestUri (request: FastifyRequest): string {
  const url = request.originalUrl
  const query = url.indexOf('?')
  return `${request.protocol}://${request.host}${query === -1 ? url : url.slice(0, query)}`
}
