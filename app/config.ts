import envSchema from 'env-schema'
import { Type, type Static } from '@sinclair/typebox'
import { randomBytes } from 'node:crypto'
import { readFileSync, writeFileSync, mkdirSync, existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { ALGORITHMS, isHostEntry, isOrigin, secretFault, type Algorithm } from '../plugins/index.js'
import { ConfigError, list, rawEnvironment, readVariableFile, serverUrl, trustProxy } from './config-env.js'
import { REDIS_VARIABLES, redisSettings, type RedisSettings } from './redis.js'

export { ConfigError }

const Rate = Type.String({ pattern: '^[1-9][0-9]{0,6}/(second|minute|hour|day)$' })
// The most failed logins per window an address may have: the bound `loginSettings` of
// plugins/oauth2-server/login.ts puts on `rateLimit.max` (RATE_LIMIT's, 10 000 000, is the pattern's).
const LOGIN_RATE_MAX = 1_000_000

/** The reference app's settings, under the names of the FastAPI settings they replace (README, "The reference app"). */
const Env = Type.Object({
  ENVIRONMENT: Type.Union([Type.Literal('development'), Type.Literal('staging'), Type.Literal('production')], { default: 'development' }),
  HOST: Type.String({ default: '127.0.0.1', minLength: 1 }),
  PORT: Type.Integer({ default: 8000, minimum: 0, maximum: 65535 }),
  PUBLIC_URL: Type.Optional(Type.String({ pattern: '^https?://[^/?#\\s]+(/[^?#\\s]*)?$' })),
  LOG_LEVEL: Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)), { default: 'info' }),
  JWT_SECRET_KEY: Type.Optional(Type.String()),
  JWT_ALGORITHM: Type.Union(ALGORITHMS.map((a) => Type.Literal(a)), { default: 'HS256' }),
  JWT_PRIVATE_KEY_FILE: Type.Optional(Type.String({ minLength: 1 })),
  JWT_PUBLIC_KEY_FILE: Type.Optional(Type.String({ minLength: 1 })),
  JWT_ISSUER: Type.Optional(Type.String({ minLength: 1 })),
  OIDC_ISSUER: Type.Optional(Type.String({ pattern: '^https?://' })),
  JWT_JWKS_URL: Type.Optional(Type.String({ pattern: '^https?://' })),
  JWT_AUDIENCE: Type.Optional(Type.String({ minLength: 1 })),
  ACCESS_TOKEN_EXPIRE_MINUTES: Type.Integer({ default: 15, minimum: 1, maximum: 1440 }),
  REFRESH_TOKEN_EXPIRE_DAYS: Type.Integer({ default: 7, minimum: 1, maximum: 365 }),
  REFRESH_TOKEN_REUSE_INTERVAL: Type.Integer({ default: 10, minimum: 0, maximum: 300 }),
  DATABASE_URL: Type.Optional(Type.String({ pattern: '^postgres(ql)?://' })),
  DATABASE_POOL_SIZE: Type.Integer({ default: 10, minimum: 1, maximum: 1000 }),
  DATA_DIR: Type.String({ default: './data', minLength: 1 }),
  ...REDIS_VARIABLES,
  STARTUP_TIMEOUT: Type.Integer({ default: 60, minimum: 0, maximum: 3600 }),
  ALLOWED_ORIGINS: Type.String({ default: '' }),
  ALLOWED_HOSTS: Type.String({ default: '' }),
  TRUST_PROXY: Type.String({ default: '' }),
  API_KEY_SECRET: Type.Optional(Type.String()),
  DPOP_NONCE_SECRET: Type.Optional(Type.String()),
  API_KEYS: Type.String({ default: '' }),
  RATE_LIMIT: { ...Rate, default: '100/minute' },
  LOGIN_RATE_LIMIT: { ...Rate, default: '5/minute' },
  ADMIN_USERNAME: Type.String({ default: 'admin', pattern: '^[A-Za-z0-9_.-]{3,32}$' }),
  ADMIN_PASSWORD: Type.Optional(Type.String({ minLength: 12, maxLength: 128 }))
})
type EnvValues = Static<typeof Env>

/** Every variable the configuration reads (documented in README.md and .env.example). */
export const VARIABLES: readonly string[] = Object.keys(Env.properties)

export type Environment = 'development' | 'staging' | 'production'

export interface RateLimit { max: number, timeWindow: number }

export interface Config {
  environment: Environment
  host: string
  port: number
  /** The API's external base URL: OpenAPI `servers`, RFC 9728 `resource`, the default issuer. */
  publicUrl: string
  logLevel: string
  jwt: {
    algorithm: Algorithm
    /** HS256 */
    secret?: string
    /** PEM, for EdDSA/ES256/RS256 */
    privateKey?: string
    /** PEM keys that verify too (the previous key during a rotation) */
    publicKeys: string[]
    issuer: string
    audience: string
    /** seconds */
    accessTokenTtl: number
    /** seconds */
    refreshTokenTtl: number
    /** seconds after a rotation in which the same refresh token is a retry, not a reuse; 0: off */
    refreshReuseInterval: number
    /**
     * Resource-server mode: the tokens are an external provider's, found by discovery from its
     * issuer (OIDC_ISSUER) or at a JWKS URL (JWT_JWKS_URL with JWT_ISSUER); this service issues none.
     */
    provider?: { issuer: string, jwksUrl?: string }
  }
  /** `postgres://…`, or the folder of the embedded database, or `memory://` */
  database: string
  /** Connections of the PostgreSQL pool. */
  databasePoolSize: number
  redis?: RedisSettings
  /** Seconds start-up waits for the database and Redis before it gives up. */
  startupTimeout: number
  allowedOrigins: string[]
  allowedHosts: string[]
  trustProxy: boolean | number | string[]
  apiKeySecret: string
  /** Set: DPoP proofs must carry a nonce of this server (RFC 9449 §8), made under this secret that every instance shares. */
  dpopNonceSecret?: string
  apiKeys: Array<{ key: string, scopes: string[] }>
  rateLimit: RateLimit
  loginRateLimit: RateLimit
  admin: { username: string, password?: string }
  /** What start-up should tell the operator (generated secrets and the like). */
  notices: string[]
}

const WINDOW = { second: 1_000, minute: 60_000, hour: 3_600_000, day: 86_400_000 }

function rate (value: string): RateLimit {
  const [max, unit] = value.split('/')
  return { max: Number(max), timeWindow: WINDOW[unit as keyof typeof WINDOW] }
}

/** One check with the plugin's: a budget the token endpoint would refuse stops start-up here, named. */
function loginRate (value: string): RateLimit {
  const limit = rate(value)
  if (limit.max > LOGIN_RATE_MAX) {
    throw new ConfigError('LOGIN_RATE_LIMIT',
      `must be at most ${LOGIN_RATE_MAX} per window (the failed logins an address may have at the token endpoint and over Basic)`)
  }
  return limit
}

function validate (raw: Record<string, string>): EnvValues {
  const known = Object.fromEntries(Object.keys(Env.properties).filter((k) => raw[k] !== undefined).map((k) => [k, raw[k]]))
  try {
    return envSchema<EnvValues>({ schema: Env, data: known, env: false })
  } catch (err) {
    // ajv says "env/PORT must be <= 65535": name the variable first.
    const first = (err as { errors?: Array<{ instancePath: string, message?: string }> }).errors?.[0]
    const variable = first?.instancePath.replace(/^\//, '') || 'environment'
    throw new ConfigError(variable, first?.message ?? (err as Error).message)
  }
}

/**
 * Secrets a development server makes up when none are configured. With the embedded database
 * in a folder they are kept beside it, so stored API keys stay valid across restarts.
 */
function developmentSecret (name: string, dataDir: string | undefined, notices: string[]): string {
  const file = dataDir === undefined ? undefined : join(dataDir, '.dev-secrets.json')
  let saved: Record<string, string> = {}
  if (file !== undefined && existsSync(file)) saved = JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>
  if (saved[name] !== undefined) {
    notices.push(`${name} is not set: using the development secret kept in ${file}`)
    return saved[name]
  }
  const secret = randomBytes(32).toString('base64url')
  if (file !== undefined) {
    mkdirSync(dataDir!, { recursive: true })
    writeFileSync(file, JSON.stringify({ ...saved, [name]: secret }), { mode: 0o600 })
    notices.push(`${name} is not set: generated a development secret and kept it in ${file}`)
  } else {
    notices.push(`${name} is not set: generated an ephemeral development secret (lost on restart)`)
  }
  return secret
}

/**
 * A secret from the environment: required in production, made up in development when unset,
 * and at least what the plugin that takes it accepts (its own check, naming the variable).
 */
function secretVariable (name: string, value: string | undefined, production: boolean, madeUp: (name: string) => string, hint = ''): string {
  if (value === undefined || value === '') {
    if (production) throw new ConfigError(name, 'is required in production (at least 32 bytes)')
    return madeUp(name)
  }
  const fault = secretFault(value)
  if (fault !== undefined) throw new ConfigError(name, fault + hint)
  return value
}

/** The token configuration: own keys (a secret or a key pair) or an external provider's. */
function jwtConfig (e: EnvValues, cwd: string, publicUrl: string, secret: (name: string) => string, production: boolean): Config['jwt'] {
  const jwt: Config['jwt'] = {
    algorithm: e.JWT_ALGORITHM,
    publicKeys: e.JWT_PUBLIC_KEY_FILE === undefined ? [] : [readVariableFile('JWT_PUBLIC_KEY_FILE', e.JWT_PUBLIC_KEY_FILE, cwd)],
    issuer: e.JWT_ISSUER ?? publicUrl,
    audience: e.JWT_AUDIENCE ?? e.JWT_ISSUER ?? publicUrl,
    accessTokenTtl: e.ACCESS_TOKEN_EXPIRE_MINUTES * 60,
    refreshTokenTtl: e.REFRESH_TOKEN_EXPIRE_DAYS * 86_400,
    refreshReuseInterval: e.REFRESH_TOKEN_REUSE_INTERVAL
  }
  if (e.OIDC_ISSUER !== undefined || e.JWT_JWKS_URL !== undefined) {
    if (e.OIDC_ISSUER !== undefined && e.JWT_JWKS_URL !== undefined) throw new ConfigError('JWT_JWKS_URL', 'set together with OIDC_ISSUER; give one of them')
    if (e.JWT_JWKS_URL !== undefined && e.JWT_ISSUER === undefined) throw new ConfigError('JWT_ISSUER', "is required with JWT_JWKS_URL (the provider's issuer)")
    if (e.JWT_AUDIENCE === undefined) {
      throw new ConfigError('JWT_AUDIENCE', "is required with an external provider (the audience its tokens carry for this API, e.g. 'account')")
    }
    for (const name of ['JWT_SECRET_KEY', 'JWT_PRIVATE_KEY_FILE'] as const) {
      if (e[name] !== undefined) throw new ConfigError(name, 'is for tokens this service issues; with OIDC_ISSUER or JWT_JWKS_URL the provider issues them')
    }
    jwt.issuer = e.OIDC_ISSUER ?? e.JWT_ISSUER!
    jwt.provider = { issuer: jwt.issuer, ...(e.JWT_JWKS_URL === undefined ? {} : { jwksUrl: e.JWT_JWKS_URL }) }
  } else if (e.JWT_ALGORITHM === 'HS256') {
    if (e.JWT_PRIVATE_KEY_FILE !== undefined) {
      throw new ConfigError('JWT_PRIVATE_KEY_FILE',
        'is for an asymmetric JWT_ALGORITHM (EdDSA, ES256/384/512, RS256/384/512, PS256/384/512); JWT_ALGORITHM is HS256')
    }
    jwt.secret = secretVariable('JWT_SECRET_KEY', e.JWT_SECRET_KEY, production, secret, ' (openssl rand -base64 32)')
  } else {
    if (e.JWT_PRIVATE_KEY_FILE === undefined) throw new ConfigError('JWT_PRIVATE_KEY_FILE', `is required with JWT_ALGORITHM=${e.JWT_ALGORITHM}`)
    jwt.privateKey = readVariableFile('JWT_PRIVATE_KEY_FILE', e.JWT_PRIVATE_KEY_FILE, cwd)
  }

  return jwt
}

/** Who may call: browser origins (CORS) and the host names this API answers to. */
function webConfig (e: EnvValues, production: boolean, notices: string[]): Pick<Config, 'allowedOrigins' | 'allowedHosts'> {
  const allowedOrigins = list(e.ALLOWED_ORIGINS)
  for (const origin of allowedOrigins) {
    if (origin === '*') {
      // The app then turns CORS credentials off (the cors plugin refuses '*' with them); even so, in
      // production the sites whose scripts may read the answers are named.
      if (production) throw new ConfigError('ALLOWED_ORIGINS', "'*' is refused in production: name the origins")
      notices.push("ALLOWED_ORIGINS contains '*': any site may call this API and read its answers, without credentials (refused in production)")
      continue
    }
    if (!isOrigin(origin)) throw new ConfigError('ALLOWED_ORIGINS', `'${origin}' is not an origin such as https://app.example.com`)
  }
  const allowedHosts = list(e.ALLOWED_HOSTS)
  for (const host of allowedHosts) {
    if (!isHostEntry(host)) throw new ConfigError('ALLOWED_HOSTS', `'${host}' is not a host name (a leading *. allows subdomains)`)
  }
  if (production && allowedHosts.length === 0) throw new ConfigError('ALLOWED_HOSTS', 'is required in production (the host names this API answers to)')
  if (production && e.PUBLIC_URL === undefined) {
    throw new ConfigError('PUBLIC_URL', "is required in production: without it each instance's issuer and resource are its own " +
      'http://HOST:PORT, so tokens one instance issues are refused by another (give the URL clients call, e.g. https://api.example.com)')
  }

  return { allowedOrigins, allowedHosts }
}

/** The API-key digest secret and the static service keys. */
function apiKeyConfig (e: EnvValues, secret: (name: string) => string, production: boolean): Pick<Config, 'apiKeySecret' | 'apiKeys'> {
  const apiKeySecret = secretVariable('API_KEY_SECRET', e.API_KEY_SECRET, production, secret)

  const apiKeys = list(e.API_KEYS).map((entry) => {
    // KEY or KEY|scope scope: a static service key with the scopes it grants (none by default).
    const [key, scopes = ''] = entry.split('|')
    return { key: key.trim(), scopes: scopes.split(' ').filter(Boolean) }
  })

  return { apiKeySecret, apiKeys }
}

/** DPoP server nonces: on with a secret of at least 32 bytes, off without one. */
function dpopConfig (e: EnvValues): Pick<Config, 'dpopNonceSecret'> {
  const secret = e.DPOP_NONCE_SECRET
  if (secret === undefined || secret === '') return {}
  const fault = secretFault(secret)
  if (fault !== undefined) throw new ConfigError('DPOP_NONCE_SECRET', fault + ' (openssl rand -base64 32)')
  return { dpopNonceSecret: secret }
}

/** Read and check the whole configuration; throws a ConfigError naming the first bad variable. */
export function loadConfig (env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Config {
  const e = validate(rawEnvironment(env, cwd))
  const production = e.ENVIRONMENT === 'production'
  const notices: string[] = []
  if (e.DATABASE_URL !== undefined) {
    serverUrl('DATABASE_URL', e.DATABASE_URL, 'postgres://user:password@host:5432/db (percent-encode / # ? @ : [ ] in the password)')
  }
  const database = e.DATABASE_URL ?? (e.DATA_DIR === 'memory://' ? 'memory://' : resolve(cwd, e.DATA_DIR))
  const dataDir = e.DATABASE_URL === undefined && database !== 'memory://' ? database : undefined
  const publicUrl = (e.PUBLIC_URL ?? `http://${e.HOST}:${e.PORT}`).replace(/\/$/, '')
  const secret = (name: string): string => developmentSecret(name, dataDir, notices)
  const jwt = jwtConfig(e, cwd, publicUrl, secret, production)
  const redis = redisSettings(e, cwd)
  return {
    environment: e.ENVIRONMENT,
    host: e.HOST,
    port: e.PORT,
    publicUrl,
    logLevel: e.LOG_LEVEL,
    jwt,
    database,
    databasePoolSize: e.DATABASE_POOL_SIZE,
    ...(redis === undefined ? {} : { redis }),
    startupTimeout: e.STARTUP_TIMEOUT,
    ...webConfig(e, production, notices),
    trustProxy: trustProxy(e.TRUST_PROXY),
    ...apiKeyConfig(e, secret, production),
    ...dpopConfig(e),
    rateLimit: rate(e.RATE_LIMIT),
    loginRateLimit: loginRate(e.LOGIN_RATE_LIMIT),
    admin: { username: e.ADMIN_USERNAME, ...(e.ADMIN_PASSWORD === undefined ? {} : { password: e.ADMIN_PASSWORD }) },
    notices
  }
}
