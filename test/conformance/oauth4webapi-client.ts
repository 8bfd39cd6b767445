import * as oauth from 'oauth4webapi'

// What the tests that drive oauth4webapi share: plain HTTP on 127.0.0.1, its refusals as it
// parses them, and custom fetches that see or replace the DPoP proof it made.

/** oauth4webapi refuses http:// unless told; every server here is on 127.0.0.1. */
export const insecure = { [oauth.allowInsecureRequests]: true } as const

export const claimsOf = (jwt: string): Record<string, unknown> => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString())

/** What `promise` was rejected with; undefined if it was not. */
export const rejection = async (promise: Promise<unknown>): Promise<unknown> => await promise.then(() => undefined, (err: unknown) => err)

export interface ParsedChallenge {
  err: oauth.WWWAuthenticateChallengeError
  status: number
  /** Each challenge's parameters, by scheme (lower case, as oauth4webapi gives it). */
  schemes: Record<string, Record<string, string | undefined>>
}

/** What oauth4webapi read of a refusal's `WWW-Authenticate` header; anything else fails the test. */
export async function challengeOf (promise: Promise<unknown>): Promise<ParsedChallenge> {
  const err = await rejection(promise)
  if (!(err instanceof oauth.WWWAuthenticateChallengeError)) throw new Error(`expected a WWW-Authenticate challenge, got ${String(err)}`)
  return { err, status: err.status, schemes: Object.fromEntries(err.cause.map((c) => [c.scheme, { ...c.parameters }])) }
}

/** What oauth4webapi read of a token endpoint's error body. */
export async function tokenErrorOf (promise: Promise<unknown>): Promise<{ status: number, error: string }> {
  const err = await rejection(promise)
  if (!(err instanceof oauth.ResponseBodyError)) throw new Error(`expected an OAuth error body, got ${String(err)}`)
  return { status: err.status, error: err.error }
}

type Headers = Record<string, string>

/** Request options with `DPoP` whose requests go out as made, their headers pushed to `sent`. */
export function recording (DPoP: oauth.DPoPHandle, sent: Headers[]): oauth.ProtectedResourceRequestOptions {
  return {
    DPoP,
    [oauth.customFetch]: async (url, init) => {
      sent.push(init.headers as Headers)
      return await fetch(url, init as RequestInit)
    }
  }
}

/** Request options with `DPoP` whose requests go out with `proof` in place of the proof oauth4webapi made. */
export function sendingProof (DPoP: oauth.DPoPHandle, proof: string): oauth.ProtectedResourceRequestOptions {
  return {
    DPoP,
    [oauth.customFetch]: async (url, init) => await fetch(url, { ...(init as RequestInit), headers: { ...(init.headers as Headers), dpop: proof } })
  }
}

/** oauth4webapi's documented remapping for servers that know EdDSA but not its fully-specified name Ed25519 (RFC 9864). */
export const remapEd25519: oauth.ModifyAssertionOptions = {
  [oauth.modifyAssertion]: (header) => {
    if (header.alg === 'Ed25519') header.alg = 'EdDSA'
  }
}
