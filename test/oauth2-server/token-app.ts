import type { Test } from 'tap'
import { createHash } from 'node:crypto'
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify'
import { warden, oauth2Bearer, type OAuth2BearerOptions, type OAuth2ServerOptions } from '../../plugins/index.js'
import { oauth2Server } from '../../plugins/oauth2-server/index.js'
import { proofKey, type ProofKey } from '../helpers/dpop.js'
import { memorySessionStore, type MemorySessionStore } from '../../stores/index.js'
import { SECRET } from '../helpers/keys.js'

// A token endpoint that binds tokens to the key of a request's DPoP proof (RFC 9449 §5): the
// client's proofs are signed with real keys, on the server's clock.

/** Two keys of the client; `.jkt` is the RFC 7638 thumbprint a bound token names. */
export const KEY_A: ProofKey = await proofKey()
export const KEY_B: ProofKey = await proofKey('EdDSA')
export const CLIENT_SECRET = 'the mobile app secret'
/** When the tests start, ms since the epoch. */
export const START = 1_800_000_000_000
/** The clock of the app made last: proofs are signed at its time. */
let current = { now: START }

export interface TokenApp {
  app: FastifyInstance
  /** Every line logged, parsed. */
  lines: Array<Record<string, unknown>>
  store: MemorySessionStore
  /** The clock of the server, the bearer scheme and the store: move it forward with `clock.now += ms`. */
  clock: { now: number }
  /** Passwords checked so far. */
  checks: () => number
}

export interface TokenAppOptions {
  server?: Partial<OAuth2ServerOptions>
  bearer?: Partial<OAuth2BearerOptions>
  /** What `verifyUser` answers for ada, given her grant and the request. Default: the grant as it is. */
  answer?: (grant: Record<string, unknown>, request: FastifyRequest) => unknown
  /** Routes of the app's own. */
  routes?: (app: FastifyInstance, clock: { now: number }) => void
}

/**
 * `oauth2Server` with memory sessions, `ada` (password `ada password`, both scopes), and a
 * confidential client `mobile` that may use client_credentials.
 */
export async function tokenApp (t: Test, { server = {}, bearer = {}, answer = (grant) => grant, routes }: TokenAppOptions = {}): Promise<TokenApp> {
  const lines: Array<Record<string, unknown>> = []
  const clock = { now: START }
  current = clock
  const now = (): number => clock.now
  const app = Fastify({ logger: { level: 'info', stream: { write: (line: string) => { lines.push(JSON.parse(line)) } } } })
  const store = memorySessionStore({ now })
  await app.register(warden, { scopes: { 'notes:read': 'Read notes', 'notes:write': 'Write notes' } })
  await app.register(oauth2Bearer, {
    secret: SECRET,
    issuer: 'https://notes.example',
    audience: 'https://notes.example',
    tokenUrl: '/token',
    isRevoked: (c) => store.isRevoked(c),
    dpop: true,
    now,
    ...bearer
  })
  let checks = 0
  await app.register(oauth2Server, {
    verifyUser: async (username, password, request) => {
      checks++
      if (username !== 'ada' || password !== 'ada password') return null
      return answer({ subject: 'u-ada', scopes: ['notes:read', 'notes:write'] }, request) as never
    },
    sessions: store,
    clients: { mobile: { secret: CLIENT_SECRET, scopes: ['notes:read'] } },
    tokenPath: '/token',
    lockout: false,
    rateLimit: false,
    now,
    ...server
  })
  routes?.(app, clock)
  t.teardown(() => app.close())
  await app.ready()
  return { app, lines, store, clock, checks: () => checks }
}

/** A token request: the form's fields, and a DPoP proof of `key` when given (`'bad'`: a proof that is not one). */
export async function tokenRequest (fields: Record<string, string>, key?: ProofKey | 'bad', nonce?: string) {
  const iat = Math.floor(current.now / 1000)
  const proof = key === undefined
    ? undefined
    : key === 'bad' ? 'not.a.proof' : await key.proof({ htm: 'POST', htu: 'http://localhost:80/token', iat, ...(nonce === undefined ? {} : { nonce }) })
  return {
    method: 'POST' as const,
    url: '/token',
    payload: new URLSearchParams(fields).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...(proof === undefined ? {} : { dpop: proof }) }
  }
}

export const ADA = { grant_type: 'password', username: 'ada', password: 'ada password' }
export const MOBILE = { client_id: 'mobile', client_secret: CLIENT_SECRET }
export const refreshOf = (refreshToken: string, client: Record<string, string> = {}) =>
  ({ grant_type: 'refresh_token', refresh_token: refreshToken, ...client })

export const claimsOf = (jwt: string): Record<string, unknown> => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString())
/** What the store keeps of a refresh token: its SHA-256 digest. */
export const digestOf = (token: string): string => createHash('sha256').update(token).digest('base64url')
