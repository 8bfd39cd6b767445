import type { Test } from 'tap'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import { buildApp, type AppOptions } from '../../app/app.js'
import { loadConfig, type Config } from '../../app/config.js'
import { openStores, type Stores } from '../../app/stores.js'
import { createPasswordHasher } from '../../plugins/index.js'
import type { Database } from '../../stores/sql/database.js'
import { testDatabase } from './services.js'
import type { ProofKey } from './dpop.js'

/** Cheap argon2 parameters and a long queue: the production ones and load shedding are checked in test/passwords. */
export const fastPasswords = createPasswordHasher({ memoryCost: 1024, timeCost: 1, queue: 1000 })
export const ADMIN_PASSWORD = 'admin password 1234'

export function testConfig (env: Record<string, string> = {}): Config {
  return loadConfig(
    {
      ENVIRONMENT: 'development',
      JWT_SECRET_KEY: randomBytes(32).toString('base64url'),
      API_KEY_SECRET: randomBytes(32).toString('base64url'),
      DATA_DIR: 'memory://',
      ADMIN_PASSWORD,
      // Tests log in far more often than people do; the limits have tests of their own.
      RATE_LIMIT: '100000/minute',
      LOGIN_RATE_LIMIT: '100000/minute',
      // Reuse of a rotated refresh token is detected at once; the retry window has tests of its own.
      REFRESH_TOKEN_REUSE_INTERVAL: '0',
      ...env
    },
    mkdtempSync(join(tmpdir(), 'warden-config-'))
  )
}

/** The proof algorithms the app's DPoP challenges and metadata list (the library's default). */
export const DPOP_ALGS = 'ES256 ES384 ES512 EdDSA PS256 PS384 PS512 RS256 RS384 RS512'
/** The `resource_metadata` of the app's challenges under the test configuration (PUBLIC_URL unset). */
export const METADATA = 'resource_metadata="http://127.0.0.1:8000/.well-known/oauth-protected-resource"'

/** What a DPoP proof names for a path of the injected app: its `htu` (RFC 9449 §4.2). */
export const htu = (path: string): string => `http://localhost${path.replace(/\?.*$/, '')}`

/** The claims of a JWT, unverified (what a test issued itself). */
export const claimsOf = (jwt: string): Record<string, unknown> => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString())

type TokenPair = { access_token: string; refresh_token: string; scope: string; expires_in: number; token_type: string }

export interface ReferenceApp {
  app: FastifyInstance
  stores: Stores
  config: Config
  /** Password grant; returns the token response body (and fails the test on a non-200). */
  login(username?: string, password?: string, scope?: string): Promise<TokenPair>
  /** The password grant with a DPoP proof of `key` (made at `iat`, seconds): tokens bound to it (and fails the test on a non-200). */
  dpopLogin(key: ProofKey, options?: { username?: string; password?: string; iat?: number }): Promise<TokenPair>
  /** Headers that present a bound token for one request: `DPoP <token>` and a fresh proof of `key` (with `iat` in seconds, `nonce`). */
  dpop(token: string, key: ProofKey, method: string, path: string, extra?: { iat?: number; nonce?: string }): Promise<{ authorization: string; dpop: string }>
  /** A user created straight in the store. */
  createUser(username: string, role: 'user' | 'moderator' | 'admin', password?: string): Promise<{ id: string }>
  bearer(token: string): { authorization: string }
}

export const form = (fields: Record<string, string>): { payload: string; headers: Record<string, string> } => ({
  payload: new URLSearchParams(fields).toString(),
  headers: { 'content-type': 'application/x-www-form-urlencoded' }
})

/** The reference app on a fresh test database (PGlite locally, PostgreSQL with TEST_DATABASE=postgres). */
export async function referenceApp (t: Test, options: Partial<AppOptions> & { env?: Record<string, string>; database?: Database } = {}): Promise<ReferenceApp> {
  const config = options.config ?? testConfig(options.env)
  // Revocations stay in this instance unless a test gives stores sharing them (a Redis client of its own).
  const stores = options.stores ?? (await openStores({ database: options.database ?? (await testDatabase(t)) }))
  // Tests fail logins on purpose; the lockout has tests of its own.
  // A cold PGlite blocks the event loop for a while: load shedding has tests of its own.
  const app = await buildApp({ config, stores, passwords: fastPasswords, logger: false, lockout: false, pressure: { maxEventLoopDelay: 10_000 }, ...options })
  t.teardown(() => app.close())
  await app.ready()
  const identity: ReferenceApp = {
    app,
    stores,
    config,
    async login (username = 'admin', password = ADMIN_PASSWORD, scope) {
      const res = await app.inject({
        method: 'POST',
        url: '/auth/token',
        ...form({ grant_type: 'password', username, password, ...(scope === undefined ? {} : { scope }) })
      })
      if (res.statusCode !== 200) throw new Error(`login failed: ${res.statusCode} ${res.body}`)
      return res.json()
    },
    async dpopLogin (key, { username = 'admin', password = ADMIN_PASSWORD, iat } = {}) {
      const proof = await key.proof({ htm: 'POST', htu: htu('/auth/token'), ...(iat === undefined ? {} : { iat }) })
      const request = form({ grant_type: 'password', username, password })
      const res = await app.inject({ method: 'POST', url: '/auth/token', payload: request.payload, headers: { ...request.headers, dpop: proof } })
      if (res.statusCode !== 200) throw new Error(`DPoP login failed: ${res.statusCode} ${res.body}`)
      return res.json()
    },
    async dpop (token, key, method, path, extra = {}) {
      return { authorization: `DPoP ${token}`, dpop: await key.proof({ htm: method, htu: htu(path), token, ...extra }) }
    },
    async createUser (username, role, password = `${username} password 123`) {
      return await stores.users.create({ username, email: `${username}@example.com`, passwordHash: await fastPasswords.hash(password), role })
    },
    bearer: (token) => ({ authorization: `Bearer ${token}` })
  }
  return identity
}
