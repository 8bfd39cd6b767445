import { createPublicKey } from 'node:crypto'
import { errors } from '../errors.js'
import { jwkInput, keyFor, type Jwk, type VerificationKey } from './keys.js'
import { countJwksFetch, publicUrl, watch } from '../core/telemetry.js'
import type { TokenHeader } from './verify.js'

export interface RemoteKeySetOptions {
  /** Refetch at most this often when a token names an unknown `kid` (ms). Default 30 s. */
  cooldown?: number
  /** Refetch keys older than this (ms). Default 10 min. */
  maxAge?: number
  /** Give up on a fetch after this long (ms). Default 5 s. */
  timeout?: number
  now?: () => number
}

/** Parse a JWK Set, keeping the signature keys fastify-warden can verify with. */
export function parseJwks (url: string, body: unknown): VerificationKey[] {
  const keys = (body as { keys?: unknown })?.keys
  if (!Array.isArray(keys)) throw new errors.WARDEN_ERR_JWKS(url, 'is not a JWK Set')
  const usable: VerificationKey[] = []
  for (const jwk of keys as Jwk[]) {
    if (jwk === null || typeof jwk !== 'object' || (jwk.use !== undefined && jwk.use !== 'sig')) continue
    try {
      const key = createPublicKey(jwkInput(jwk))
      // A JWK's alg narrows the key to that algorithm; one that does not fit the key skips it.
      usable.push(keyFor('jwks', typeof jwk.kid === 'string' ? jwk.kid : undefined, key, typeof jwk.alg === 'string' ? jwk.alg : undefined))
    } catch {
      // A key we cannot use (symmetric, unknown curve, short RSA) is skipped, not fatal.
    }
  }
  if (usable.length === 0) throw new errors.WARDEN_ERR_JWKS(url, 'holds no usable signature key')
  return usable
}

export function findKey (keys: readonly VerificationKey[], header: TokenHeader): VerificationKey | undefined {
  if (header.kid === undefined) return keys.length === 1 ? keys[0] : undefined
  return keys.find((k) => k.kid === header.kid)
}

/** A provider's key set: `resolve` finds a token's key, `load` fetches the keys now (at start-up). */
export interface RemoteKeySet {
  resolve(header: TokenHeader): Promise<VerificationKey | undefined>
  load(): Promise<void>
}

/**
 * The keys of an external OpenID provider, fetched from its JWKS URL, cached, and refetched
 * when a token names a key not seen yet (key rotation) — at most once per cooldown.
 */
export function remoteKeySet (jwksUrl: string | (() => Promise<string>), options: RemoteKeySetOptions = {}): RemoteKeySet {
  const cooldown = options.cooldown ?? 30_000
  const maxAge = options.maxAge ?? 600_000
  const timeout = options.timeout ?? 5_000
  const now = options.now ?? Date.now
  const label = typeof jwksUrl === 'string' ? jwksUrl : 'discovered JWKS'
  let keys: VerificationKey[] = []
  let fetchedAt = -Infinity
  let inflight: Promise<void> | undefined

  async function load (): Promise<void> {
    const url = typeof jwksUrl === 'string' ? jwksUrl : await jwksUrl()
    const get = async (): Promise<Response> =>
      await fetch(url, { signal: AbortSignal.timeout(timeout), headers: { accept: 'application/json' }, redirect: 'error' })
    // Once more on a network error: a pooled connection the provider closed (a restart) is common.
    // Not after a timeout: the provider had its time, and a second wait would double it.
    try {
      const res = await get().catch(async (err: unknown) => {
        if ((err as Error | undefined)?.name === 'TimeoutError') throw err
        return await get()
      })
      if (!res.ok) throw new errors.WARDEN_ERR_JWKS(url, `answered ${res.status}`)
      keys = parseJwks(url, await res.json())
    } catch (err) {
      countJwksFetch(url, false)
      throw err
    }
    countJwksFetch(url, true)
    fetchedAt = now()
  }

  let attemptedAt = -Infinity
  function refresh (): Promise<void> {
    if (inflight === undefined) {
      attemptedAt = now()
      inflight = load().finally(() => {
        inflight = undefined
      })
    }
    return inflight
  }
  // Never more than one fetch per cooldown, whatever the callers send: an outage or a flood of
  // tokens with made-up kids must not become a flood of requests to the provider.
  const due = (): boolean => inflight !== undefined || now() - attemptedAt > cooldown

  const keySet: RemoteKeySet = {
    load: refresh,
    async resolve (header) {
      if (now() - fetchedAt > maxAge && due()) {
        // A provider outage keeps the last good keys.
        await refresh().catch(() => undefined)
      }
      if (keys.length === 0) throw new errors.WARDEN_ERR_JWKS(label, 'could not be fetched')
      let key = findKey(keys, header)
      if (key === undefined && due()) {
        await refresh().catch(() => undefined)
        key = findKey(keys, header)
      }
      return key
    }
  }
  // Staleness as a gauge: how old the keys in use are (a provider down keeps the last good ones).
  watch('jwks', keySet, () => (Number.isFinite(fetchedAt) ? [[(now() - fetchedAt) / 1000, { 'url.full': publicUrl(label) }]] : []))
  return keySet
}

/** Where a provider's metadata is: OpenID Connect Discovery first, then RFC 8414 (the well-known path before the issuer's own). */
export function metadataUrls (issuer: string): string[] {
  const { origin, pathname } = new URL(issuer)
  const path = pathname === '/' ? '' : pathname.replace(/\/$/, '')
  return [`${origin}${path}/.well-known/openid-configuration`, `${origin}/.well-known/oauth-authorization-server${path}`]
}

/**
 * The `jwks_uri` of a provider's metadata. Its `issuer` must be exactly the expected one
 * (OpenID Connect Discovery §4.3, RFC 8414 §3.3): metadata of another issuer is refused.
 */
export async function discoverJwksUri (issuer: string, urls: readonly string[], timeout: number, secure: (url: string) => boolean): Promise<string> {
  for (const url of urls) {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeout), headers: { accept: 'application/json' }, redirect: 'error' })
    if (res.status === 404 && url !== urls[urls.length - 1]) continue
    if (!res.ok) throw new errors.WARDEN_ERR_JWKS(url, `answered ${res.status}`)
    const metadata = (await res.json()) as { issuer?: unknown; jwks_uri?: unknown }
    if (metadata.issuer !== issuer) throw new errors.WARDEN_ERR_JWKS(url, `names issuer '${String(metadata.issuer)}', not '${issuer}'`)
    if (typeof metadata.jwks_uri !== 'string' || !secure(metadata.jwks_uri)) throw new errors.WARDEN_ERR_JWKS(url, 'has no https jwks_uri')
    return metadata.jwks_uri
  }
  throw new errors.WARDEN_ERR_JWKS(issuer, 'publishes no metadata')
}
