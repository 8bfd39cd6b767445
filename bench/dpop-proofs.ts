import type { Options, SetupRequest } from 'autocannon'
import { createHash, createPrivateKey, generateKeyPairSync, randomBytes, sign, type JsonWebKey } from 'node:crypto'

/*
 * The DPoP client of the benchmarks (RFC 9449 §4.2): an ES256 key, and proofs signed with it by
 * node:crypto. A server refuses a proof it has seen (its `jti`), so every request needs a proof
 * of its own: they are made in advance, just before each load, outside the measured window (their
 * CPU is the client's, on its own core; what a row measures is the server's).
 */

const sha256 = (text: string): string => createHash('sha256').update(text).digest('base64url')
const encode = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url')

/** A client key: the private JWK (passed from the bench server, which binds its token to it) and its RFC 7638 thumbprint. */
export interface DpopKey {
  privateJwk: JsonWebKey
  jkt: string
}

/** A client of a DPoP row: its key, and the access token bound to it. */
export interface DpopClient extends DpopKey {
  token: string
}

export function dpopKey (): DpopKey {
  const privateJwk = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' })
  const { crv, kty, x, y } = privateJwk
  return { privateJwk, jkt: sha256(JSON.stringify({ crv, kty, x, y })) }
}

/** Makes `count` proofs at a time, each with a `jti` of its own and `iat` now. */
export type ProofMaker = (count: number) => string[]

/** Proofs of `client`'s key for requests `method` `url` (`htm`, `htu`) sent with its token (`ath`). */
export function proofMaker ({ privateJwk, token }: DpopClient, method: string, url: string): ProofMaker {
  const key = createPrivateKey({ key: privateJwk, format: 'jwk' })
  const { crv, kty, x, y } = privateJwk
  const header = encode({ typ: 'dpop+jwt', alg: 'ES256', jwk: { crv, kty, x, y } })
  const ath = sha256(token)
  // Unique across makers and processes: a random prefix, then a counter.
  const prefix = randomBytes(9).toString('base64url')
  let issued = 0
  return (count) => {
    const iat = Math.floor(Date.now() / 1000)
    const proofs = new Array<string>(count)
    for (let i = 0; i < count; i++) {
      const input = `${header}.${encode({ htm: method, htu: url, jti: `${prefix}${issued++}`, iat, ath })}`
      proofs[i] = `${input}.${sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`
    }
    return proofs
  }
}

/**
 * autocannon options that send each request with the next proof of `proofs`: autocannon 9
 * rebuilds a request whose `setupRequest` is a function before every send. Each connection gets
 * a request object of its own (`setupClient`): its first send writes the request built before it
 * connected, which a shared object would have let another connection overwrite, and a proof go
 * twice. `used()` counts the proofs taken; past the last one, requests go without one, the server
 * refuses them, and the load fails on its non-2xx answers.
 */
export function proofClients (proofs: readonly string[]): { setupClient: NonNullable<Options['setupClient']>; used: () => number } {
  let next = 0
  const setupRequest: SetupRequest = (request) => {
    if (next < proofs.length) request.headers.dpop = proofs[next]
    next++
    return request
  }
  return {
    setupClient: (client) => {
      client.setRequests([{ setupRequest }])
    },
    used: () => next
  }
}
