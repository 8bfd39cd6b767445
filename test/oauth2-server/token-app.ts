import type { Test } from 'tap'
import { createHash } from 'node:crypto'
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify'
import { warden, oauth2Bearer, type OAuth2ServerOptions } from '../../plugins/index.js'
import { OAuthFailure } from '../../plugins/errors.js'
import { oauth2ServerWith } from '../../plugins/oauth2-server/index.js'
import { memorySessionStore, type MemorySessionStore } from '../../stores/index.js'
import { SECRET } from '../helpers/keys.js'

// A token endpoint whose DPoP proofs are read from a header: the proof's verification is the
// bearer scheme's, so here a test names the key a verified proof would have (or a bad proof).

/** The thumbprint a verified proof of the request would give; `bad` for a proof refused. */
export const PROOF = 'x-test-dpop-jkt'
/** JWK SHA-256 thumbprints (RFC 7638) of two keys of the client. */
export const KEY_A = createHash('sha256').update('key a').digest('base64url')
export const KEY_B = createHash('sha256').update('key b').digest('base64url')
export const CLIENT_SECRET = 'the mobile app secret'
/** When the tests start, ms since the epoch. */
export const START = 1_800_000_000_000

async function proofKey (request: FastifyRequest): Promise<string | undefined> {
  const jkt = request.headers[PROOF]
  if (jkt === 'bad') throw new OAuthFailure('invalid_request', 'The DPoP proof is invalid.')
  return typeof jkt === 'string' ? jkt : undefined
}

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
  /** What `verifyUser` answers for ada, given her grant and the request. Default: the grant as it is. */
  answer?: (grant: Record<string, unknown>, request: FastifyRequest) => unknown
  /** Routes of the app's own. */
  routes?: (app: FastifyInstance, clock: { now: number }) => void
}

/**
 * `oauth2Server` with memory sessions, `ada` (password `ada password`, both scopes), and a
 * confidential client `mobile` that may use client_credentials.
 */
export async function tokenApp (t: Test, { server = {}, answer = (grant) => grant, routes }: TokenAppOptions = {}): Promise<TokenApp> {
  const lines: Array<Record<string, unknown>> = []
  const clock = { now: START }
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
    now
  })
  let checks = 0
  await app.register(oauth2ServerWith(proofKey), {
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

/** A token request: the form's fields, and the key of its DPoP proof when it carries one. */
export const tokenRequest = (fields: Record<string, string>, jkt?: string) => ({
  method: 'POST' as const,
  url: '/token',
  payload: new URLSearchParams(fields).toString(),
  headers: { 'content-type': 'application/x-www-form-urlencoded', ...(jkt === undefined ? {} : { [PROOF]: jkt }) }
})

export const ADA = { grant_type: 'password', username: 'ada', password: 'ada password' }
export const MOBILE = { client_id: 'mobile', client_secret: CLIENT_SECRET }
export const refreshOf = (refreshToken: string, client: Record<string, string> = {}) =>
  ({ grant_type: 'refresh_token', refresh_token: refreshToken, ...client })

export const claimsOf = (jwt: string): Record<string, unknown> => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString())
/** What the store keeps of a refresh token: its SHA-256 digest. */
export const digestOf = (token: string): string => createHash('sha256').update(token).digest('base64url')
