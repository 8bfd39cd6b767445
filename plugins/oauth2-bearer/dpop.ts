import type { FastifyRequest } from 'fastify'
import { DependencyDown, errors, InvalidDpopProof } from '../errors.js'
import type { DpopMode } from '../core/types.js'
import { integerOption } from '../core/option-checks.js'
import { DPOP_MODES } from '../core/demands.js'
import { dependencyAnswered } from '../core/guard.js'
import { faultsAs } from '../core/dependency.js'
import { ASYMMETRIC, type Algorithm } from './keys.js'
import { dpopProofHeader, pathOf, requestUri, verifyProof, type ProofRules, type VerifiedProof } from './dpop-proof.js'
import { dpopNonces, type DpopNonces } from './dpop-nonce.js'
import { memoryDpopReplay, refuseReplay, type DpopReplayCache } from './dpop-replay.js'
import type { DpopProofs, OAuth2BearerOptions } from './options.js'

/** A scheme's DPoP settings (RFC 9449), checked at registration. */
export interface DpopSettings {
  /** How the scheme's routes take DPoP unless one says otherwise (`x-dpop`). */
  readonly mode: DpopMode
  /** The proof algorithms accepted, in the order challenges and metadata list them. */
  readonly algorithms: readonly Algorithm[]
  readonly rules: ProofRules
  readonly replay: DpopReplayCache
  readonly nonces: DpopNonces | undefined
  /** The origin proofs name (`https://api.example`); undefined: the request's own, as Fastify reads it. */
  readonly origin: string | undefined
}

const DEFAULT_ALGORITHMS: readonly Algorithm[] = ['ES256', 'ES384', 'ES512', 'EdDSA', 'PS256', 'PS384', 'PS512', 'RS256', 'RS384', 'RS512']

export function dpopSettings (opts: OAuth2BearerOptions['dpop'], now: () => number, clockTolerance: number): DpopSettings | undefined {
  if (opts === undefined || opts === false) return undefined
  const dpop = opts === true ? {} : opts
  if (dpop === null || typeof dpop !== 'object') {
    throw new errors.WARDEN_ERR_OPTION('dpop', 'must be true or an object { mode, algorithms, proofLifetime, replay, nonce }')
  }
  if (dpop.mode !== undefined && !DPOP_MODES.includes(dpop.mode)) throw new errors.WARDEN_ERR_OPTION('dpop.mode', "must be 'required', 'allowed' or 'off'")
  const algorithms = dpop.algorithms ?? DEFAULT_ALGORITHMS
  if (!Array.isArray(algorithms) || algorithms.length === 0 || !algorithms.every((a) => ASYMMETRIC.includes(a))) {
    throw new errors.WARDEN_ERR_OPTION(
      'dpop.algorithms',
      `must be a non-empty list of ${ASYMMETRIC.join(', ')} (a proof is signed with the client's private key)`
    )
  }
  if (dpop.replay !== undefined && typeof dpop.replay?.firstUse !== 'function') {
    throw new errors.WARDEN_ERR_OPTION('dpop.replay', 'must be a replay cache { firstUse(key, expiresAt) } (redisDpopReplay from fastify-warden/stores)')
  }
  const nonce = dpop.nonce
  if (nonce !== undefined && typeof nonce !== 'boolean' && (nonce === null || typeof nonce !== 'object')) {
    throw new errors.WARDEN_ERR_OPTION('dpop.nonce', 'must be a boolean or { secret, lifetime }')
  }
  return {
    mode: dpop.mode ?? 'allowed',
    algorithms: [...new Set(algorithms)],
    rules: { algorithms: new Set(algorithms), lifetime: integerOption('dpop.proofLifetime', dpop.proofLifetime, 60, 1, 600), clockTolerance, now },
    replay: dpop.replay ?? memoryDpopReplay({ now }),
    nonces: nonce === undefined || nonce === false ? undefined : dpopNonces({ ...(nonce === true ? {} : nonce), now }),
    origin: dpop.origin === undefined ? undefined : originOption(dpop.origin)
  }
}

/** The request's DPoP proof, verified for it (and for `accessToken`, `ath`), not yet used; `InvalidDpopProof` if it does not hold. */
function verifiedProof (dpop: DpopSettings, request: FastifyRequest, accessToken?: string): VerifiedProof {
  const proof = dpopProofHeader(request.headers)
  if (proof === undefined) throw new InvalidDpopProof('no DPoP proof')
  const uri = requestUri(request)
  // With a configured origin, the URI a proof must name is this API's, whatever Host the request says.
  const target = dpop.origin === undefined ? uri : dpop.origin + pathOf(uri)
  const nonce = dpop.nonces === undefined ? {} : { nonce: dpop.nonces.check }
  return verifyProof(proof, { method: request.method, uri: target, ...(accessToken === undefined ? {} : { accessToken }), ...nonce }, dpop.rules)
}

function originOption (value: unknown): string {
  let url: URL | undefined
  try {
    url = new URL(value as string)
  } catch {}
  if (typeof value !== 'string' || url === undefined || !/^https?:$/.test(url.protocol) || url.href !== url.origin + '/' || value.endsWith('/')) {
    throw new errors.WARDEN_ERR_OPTION('dpop.origin', 'must be an http(s) origin without a path, such as https://api.example.com')
  }
  return url.origin
}

/**
 * The request's DPoP proof for a token bound to `jkt`: verified for this request and token, of
 * that key, then used once. Refused with `InvalidDpopProof` (no proof, a bad one, another key's,
 * a replay, a nonce to use), the key compared before the replay cache is written, so proofs of
 * keys that are not the token's take no room in it; what the cache cannot tell (it is down,
 * full) is thrown as `DependencyDown`, for a 503 logged as the cache's outage.
 */
export function checkProof (dpop: DpopSettings, request: FastifyRequest, accessToken: string, jkt: string): void | Promise<void> {
  const proof = verifiedProof(dpop, request, accessToken)
  if (proof.jkt !== jkt) throw new InvalidDpopProof('the proof is not signed with the token\'s key')
  // The replay cache's outage is its own (a plain bearer token, served meanwhile, says nothing of it).
  const down = (err: unknown): never => {
    throw err instanceof InvalidDpopProof ? err : new DependencyDown(REPLAY_CACHE, err)
  }
  const used = faultsAs(() => refuseReplay(dpop.replay, proof), down)
  if (used instanceof Promise) return used.then(() => dependencyAnswered(request, REPLAY_CACHE))
  dependencyAnswered(request, REPLAY_CACHE)
}

const REPLAY_CACHE = 'DPoP replay cache'

/** `accessTokens.dpop`: the proofs of token requests, checked like those of API requests, used once the request is granted. */
export function dpopProofs (dpop: DpopSettings): DpopProofs {
  return {
    algorithms: dpop.algorithms,
    check (request) {
      if (request.headers.dpop === undefined) return undefined
      const proof = verifiedProof(dpop, request)
      return { jkt: proof.jkt, use: () => refuseReplay(dpop.replay, proof) }
    },
    nonce: () => dpop.nonces?.current()
  }
}

/** The `DPoP-Nonce` header to send with a `use_dpop_nonce` refusal. */
export function nonceHeader (dpop: DpopSettings, err: InvalidDpopProof): Record<string, string> | undefined {
  return err.error === 'use_dpop_nonce' && dpop.nonces !== undefined ? { 'dpop-nonce': dpop.nonces.current() } : undefined
}
