import { constants, createHmac, verify as verifySignature } from 'node:crypto'
import { safeEqual } from '../core/compare.js'
import { InvalidToken, IssuerUnavailable } from '../errors.js'
import { faultsAs } from '../core/dependency.js'
import type { WardenClaims } from '../core/types.js'
import type { Algorithm, VerificationKey } from './keys.js'

/*
 * Tokens are verified here by hand, not by fast-jwt or jose: one short path per request with no
 * per-call allocation beyond the payload, header segments parsed once and cached, and exactly
 * the rules of RFC 9068 and RFC 8725 (explicit typ, no key-choosing headers, the key's own
 * algorithm). test/oauth2-bearer/differential-jose.test.ts keeps it honest: over ~400 mutated
 * tokens, nothing this accepts is refused by jose under the same rules.
 */

/** The header fields that matter once a header has passed the checks below. */
export interface TokenHeader {
  readonly alg: Algorithm
  readonly kid: string | undefined
}

export interface ClaimRules {
  readonly issuers: readonly string[]
  /** The token's `aud` must name one of them. */
  readonly audiences: readonly string[]
  /** Accepted `typ` headers, lower case; `null` accepts a token without one. */
  readonly tokenTypes: ReadonlyArray<string | null>
  /** Refuse tokens without `jti` (revocation by id needs one). */
  readonly requireJti: boolean
  /** Seconds of leeway for `exp`, `nbf` and `iat`. */
  readonly clockTolerance: number
  /** Milliseconds since the epoch; tests freeze it. */
  readonly now: () => number
}

/** Longest token accepted; bounds the work an attacker can ask for (RFC 8725 §3.1 spirit). */
export const MAX_TOKEN_LENGTH = 8192
// Three non-empty base64url segments: also refuses unsecured (`alg: none`) tokens, whose signature is empty.
const COMPACT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/
// Headers that would let the token choose its own key, and `crit` extensions we do not implement.
const FORBIDDEN_HEADERS = ['jku', 'jwk', 'x5u', 'x5c', 'crit', 'b64', 'zip', 'enc']
const HASH: Record<Algorithm, string | null> = {
  HS256: 'sha256',
  RS256: 'sha256',
  RS384: 'sha384',
  RS512: 'sha512',
  PS256: 'sha256',
  PS384: 'sha384',
  PS512: 'sha512',
  ES256: 'sha256',
  ES384: 'sha384',
  ES512: 'sha512',
  EdDSA: null
}

/** A JWS segment's JSON object, or the error `fail` makes of what is wrong with it (a token's `InvalidToken` by default). */
export function decodeJson (
  segment: string,
  what: string,
  fail: (reason: string) => Error = (reason) => new InvalidToken(reason)
): Record<string, unknown> {
  let value: unknown
  try {
    value = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'))
  } catch {
    throw fail(`${what} is not JSON`)
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw fail(`${what} is not an object`)
  return value as Record<string, unknown>
}

/** A compact JWS in its base64url segments, and the signing input (`header.payload`). */
export interface TokenParts {
  readonly header: string
  readonly payload: string
  readonly signature: string
  readonly input: string
}

/** Split a compact JWS, or refuse it; every part is a slice of the token, no new string. */
export function splitToken (token: string): TokenParts {
  if (token.length > MAX_TOKEN_LENGTH || !COMPACT.test(token)) throw new InvalidToken('not a compact JWS')
  const d1 = token.indexOf('.')
  const d2 = token.indexOf('.', d1 + 1)
  return { header: token.slice(0, d1), payload: token.slice(d1 + 1, d2), signature: token.slice(d2 + 1), input: token.slice(0, d2) }
}

/**
 * Parse and check a protected header. The same few headers recur on every request, so callers
 * cache the result by the header segment.
 */
export function parseHeader (segment: string, rules: ClaimRules, allowed: ReadonlySet<Algorithm>): TokenHeader {
  const header = decodeJson(segment, 'header')
  const alg = header.alg
  // The allowed ones are algorithms we implement: anything else, whatever its type, is not among them.
  if (!allowed.has(alg as Algorithm)) throw new InvalidToken('algorithm not allowed', 'algorithm')
  for (const name of FORBIDDEN_HEADERS) {
    if (name in header) throw new InvalidToken(`header ${name} not accepted`)
  }
  const typ = header.typ
  if (typ === undefined ? !rules.tokenTypes.includes(null) : typeof typ !== 'string' || !rules.tokenTypes.includes(typ.toLowerCase())) {
    throw new InvalidToken('typ not accepted')
  }
  const kid = header.kid
  if (kid !== undefined && typeof kid !== 'string') throw new InvalidToken('kid is not a string')
  return { alg: alg as Algorithm, kid }
}

/** Check the signature of `input` (header.payload) with a key of the token's own algorithm. */
export function checkSignature (key: VerificationKey, alg: Algorithm, input: string, signature: string): void {
  if (!key.algs.has(alg)) throw new InvalidToken('algorithm does not match key', 'algorithm')
  const sig = Buffer.from(signature, 'base64url')
  let ok: boolean
  if (alg === 'HS256') {
    ok = safeEqual(createHmac('sha256', key.key).update(input).digest(), sig)
  } else if (alg.startsWith('PS')) {
    ok = verifySignature(
      HASH[alg],
      Buffer.from(input),
      { key: key.key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST },
      sig
    )
  } else {
    ok = verifySignature(HASH[alg], Buffer.from(input), { key: key.key, ...(alg.startsWith('ES') ? { dsaEncoding: 'ieee-p1363' as const } : {}) }, sig)
  }
  if (!ok) throw new InvalidToken('bad signature', 'signature')
}

/** Decode the payload and check the registered claims of an RFC 9068 access token. */
export function checkClaims (segment: string | Record<string, unknown>, rules: ClaimRules): WardenClaims {
  // A payload already decoded (to route it by its `iss`) is not decoded twice.
  const claims = (typeof segment === 'string' ? decodeJson(segment, 'payload') : segment) as WardenClaims
  const refuse = (claim: string, reason = claim): InvalidToken => new InvalidToken(reason, reason === 'expired' ? 'expired' : 'claims', claims, claim)
  const now = rules.now() / 1000
  const tolerance = rules.clockTolerance
  if (typeof claims.iss !== 'string' || !rules.issuers.includes(claims.iss)) throw refuse('iss')
  const aud = claims.aud
  if (typeof aud === 'string' ? !rules.audiences.includes(aud) : !Array.isArray(aud) || !aud.some((a) => rules.audiences.includes(a))) throw refuse('aud')
  if (typeof claims.sub !== 'string' || claims.sub.length === 0) throw refuse('sub')
  if (claims.jti !== undefined || rules.requireJti) {
    if (typeof claims.jti !== 'string' || claims.jti.length === 0) throw refuse('jti')
  }
  if (typeof claims.exp !== 'number' || !Number.isFinite(claims.exp)) throw refuse('exp', 'exp missing')
  if (now >= claims.exp + tolerance) throw refuse('exp', 'expired')
  if (claims.nbf !== undefined && (typeof claims.nbf !== 'number' || now < claims.nbf - tolerance)) throw refuse('nbf')
  if (claims.iat !== undefined && (typeof claims.iat !== 'number' || claims.iat > now + tolerance)) throw refuse('iat')
  // RFC 9068 says a string; some providers send a list.
  const scope = claims.scope as unknown
  if (scope !== undefined && typeof scope !== 'string' && !(Array.isArray(scope) && scope.every((s) => typeof s === 'string'))) throw refuse('scope')
  return claims
}

/** Something that checks decoded claims against the app's own schema (a compiled TypeBox check). */
export interface ClaimsCheck {
  Check(value: unknown): boolean
}

/** A verifier of split tokens: the payload given when it was already decoded (to route the token by its `iss`). */
type PartsVerifier = (parts: TokenParts, payload?: Record<string, unknown>) => WardenClaims | Promise<WardenClaims>

/**
 * One issuer's verifier: signature, header and claims, with the key the header names. Sync for
 * local keys, a promise for a provider's key set; throws `InvalidToken` for what the token is,
 * anything else (a key set that cannot be fetched) for what the service is.
 */
function partsVerifier (
  rules: ClaimRules,
  allowed: ReadonlySet<Algorithm>,
  resolveKey: (header: TokenHeader) => VerificationKey | undefined | Promise<VerificationKey | undefined>,
  ownClaims: ClaimsCheck | undefined
): PartsVerifier {
  // Header segments repeat on every request (one per key); parse each once. Bounded, so
  // made-up headers cannot grow it.
  const headers = new Map<string, TokenHeader>()
  function headerOf (segment: string): TokenHeader {
    let header = headers.get(segment)
    if (header === undefined) {
      header = parseHeader(segment, rules, allowed)
      if (headers.size < 64) headers.set(segment, header)
    }
    return header
  }

  function verifyWith (key: VerificationKey | undefined, header: TokenHeader, parts: TokenParts, payload: Record<string, unknown> | undefined): WardenClaims {
    if (key === undefined) throw new InvalidToken('unknown key', 'unknown_key')
    checkSignature(key, header.alg, parts.input, parts.signature)
    const claims = checkClaims(payload ?? parts.payload, rules)
    if (ownClaims !== undefined && !ownClaims.Check(claims)) throw new InvalidToken('claims do not fit the claims schema', 'claims', claims)
    return claims
  }

  return (parts, payload) => {
    const header = headerOf(parts.header)
    const key = resolveKey(header)
    return key instanceof Promise ? key.then((k) => verifyWith(k, header, parts, payload)) : verifyWith(key, header, parts, payload)
  }
}

/** The scheme's one verifier, for a scheme of one issuer (or several sharing keys and policy). */
export function tokenVerifier (
  rules: ClaimRules,
  allowed: ReadonlySet<Algorithm>,
  resolveKey: (header: TokenHeader) => VerificationKey | undefined | Promise<VerificationKey | undefined>,
  ownClaims: ClaimsCheck | undefined
): (token: string) => WardenClaims | Promise<WardenClaims> {
  const verify = partsVerifier(rules, allowed, resolveKey, ownClaims)
  return (token) => verify(splitToken(token))
}

/** What verifies the tokens of one issuer of several: its own rules, algorithms and keys. */
export interface IssuerVerification {
  readonly rules: ClaimRules
  readonly allowed: ReadonlySet<Algorithm>
  readonly resolve: (header: TokenHeader) => VerificationKey | undefined | Promise<VerificationKey | undefined>
}

/** An issuer's key lookup whose failures (its provider down) name the issuer, so the outage is its own. */
function issuerOutages (issuer: string, resolve: IssuerVerification['resolve']): IssuerVerification['resolve'] {
  const down = (err: unknown): never => {
    throw err instanceof InvalidToken ? err : new IssuerUnavailable(issuer, err)
  }
  return (header) => faultsAs(() => resolve(header), down)
}

/**
 * The verifier of a scheme with several issuers: a token goes to the issuer its `iss` names, and
 * only to one of those allowed. The payload is read before the signature to find the issuer (it
 * is bounded with the token, and decoded once); an `iss` that is missing or not allowed is
 * `invalid_token` before any key is looked for, so it costs no request to any provider. The
 * chosen issuer then checks everything, the signature with its own keys only (a token naming A
 * signed with B's key finds no key, or a key that does not verify it), `iss` included.
 */
export function issuerRouter (
  issuers: ReadonlyMap<string, IssuerVerification>,
  ownClaims: ClaimsCheck | undefined
): (token: string) => WardenClaims | Promise<WardenClaims> {
  const verifiers = new Map<string, PartsVerifier>()
  for (const [issuer, { rules, allowed, resolve }] of issuers) verifiers.set(issuer, partsVerifier(rules, allowed, issuerOutages(issuer, resolve), ownClaims))
  return (token) => {
    const parts = splitToken(token)
    const payload = decodeJson(parts.payload, 'payload')
    const iss = payload.iss
    const verify = typeof iss === 'string' ? verifiers.get(iss) : undefined
    // Unverified claims are not passed on: nothing an attacker wrote reaches the logs as a subject.
    if (verify === undefined) throw new InvalidToken('iss', 'claims', undefined, 'iss')
    return verify(parts, payload)
  }
}
