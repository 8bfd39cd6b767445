import t from 'tap'
import { mkdtempSync, writeFileSync, readFileSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPairSync } from 'node:crypto'
import { loadConfig, ConfigError } from '../../app/config.js'

const dir = (): string => mkdtempSync(join(tmpdir(), 'warden-config-'))
const failure = (env: Record<string, string>, cwd = dir()): ConfigError | undefined => {
  try {
    loadConfig(env, cwd)
  } catch (err) {
    if (err instanceof ConfigError) return err
    throw err
  }
  return undefined
}
const SECRET = 'a'.repeat(32)
const production = { ENVIRONMENT: 'production', JWT_SECRET_KEY: SECRET, API_KEY_SECRET: SECRET, ALLOWED_HOSTS: 'api.example.com', PUBLIC_URL: 'https://api.example.com', DATABASE_URL: 'postgres://db/app' }

t.test('defaults are the documented ones (README, the reference app configuration)', async (t) => {
  const cwd = dir()
  const config = loadConfig({ JWT_SECRET_KEY: SECRET, API_KEY_SECRET: SECRET }, cwd)
  t.match(config, {
    environment: 'development',
    host: '127.0.0.1',
    port: 8000,
    jwt: { algorithm: 'HS256', secret: SECRET, issuer: 'http://127.0.0.1:8000', audience: 'http://127.0.0.1:8000', accessTokenTtl: 900, refreshTokenTtl: 7 * 86_400, refreshReuseInterval: 10 },
    database: join(cwd, 'data'),
    allowedOrigins: [],
    allowedHosts: [],
    trustProxy: false,
    apiKeys: [],
    rateLimit: { max: 100, timeWindow: 60_000 },
    loginRateLimit: { max: 5, timeWindow: 60_000 },
    admin: { username: 'admin' },
    notices: []
  })
})

t.test('values are parsed and checked', async (t) => {
  const config = loadConfig({
    ...production,
    PORT: '9000',
    ACCESS_TOKEN_EXPIRE_MINUTES: '5',
    REFRESH_TOKEN_EXPIRE_DAYS: '30',
    ALLOWED_ORIGINS: 'https://app.example.com, https://admin.example.com',
    ALLOWED_HOSTS: 'api.example.com,*.example.org',
    TRUST_PROXY: '10.0.0.0/8,loopback',
    RATE_LIMIT: '1000/hour',
    REDIS_URL: 'redis://cache:6379',
    API_KEYS: 'wdn_a|users:read admin,wdn_b'
  }, dir())
  t.match(config, {
    port: 9000,
    jwt: { accessTokenTtl: 300, refreshTokenTtl: 30 * 86_400 },
    database: 'postgres://db/app',
    databasePoolSize: 10,
    redis: { kind: 'node', url: 'redis://cache:6379' },
    startupTimeout: 60,
    allowedOrigins: ['https://app.example.com', 'https://admin.example.com'],
    allowedHosts: ['api.example.com', '*.example.org'],
    trustProxy: ['10.0.0.0/8', 'loopback'],
    rateLimit: { max: 1000, timeWindow: 3_600_000 },
    apiKeys: [{ key: 'wdn_a', scopes: ['users:read', 'admin'] }, { key: 'wdn_b', scopes: [] }]
  })
  t.equal(loadConfig({ ...production, TRUST_PROXY: '2' }, dir()).trustProxy, 2)
  t.equal(loadConfig({ ...production, TRUST_PROXY: 'true' }, dir()).trustProxy, true)
})

t.test('an invalid value stops start-up with an error naming the variable', async (t) => {
  const cases: Array<[Record<string, string>, string]> = [
    [{ PORT: 'eighty' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ ENVIRONMENT: 'prod' }, 'ENVIRONMENT'],
    [{ JWT_ALGORITHM: 'none' }, 'JWT_ALGORITHM'],
    [{ JWT_SECRET_KEY: 'short' }, 'JWT_SECRET_KEY'],
    [{ API_KEY_SECRET: 'short' }, 'API_KEY_SECRET'],
    [{ ACCESS_TOKEN_EXPIRE_MINUTES: '0' }, 'ACCESS_TOKEN_EXPIRE_MINUTES'],
    [{ RATE_LIMIT: '100 per minute' }, 'RATE_LIMIT'],
    [{ DATABASE_POOL_SIZE: '0' }, 'DATABASE_POOL_SIZE'],
    [{ DATABASE_POOL_SIZE: '1001' }, 'DATABASE_POOL_SIZE'],
    [{ STARTUP_TIMEOUT: '-1' }, 'STARTUP_TIMEOUT'],
    [{ STARTUP_TIMEOUT: '3601' }, 'STARTUP_TIMEOUT'],
    [{ DATABASE_URL: 'mysql://db' }, 'DATABASE_URL'],
    [{ REDIS_URL: 'http://cache' }, 'REDIS_URL'],
    [{ ALLOWED_ORIGINS: 'app.example.com' }, 'ALLOWED_ORIGINS'],
    [{ ALLOWED_ORIGINS: 'https://app.example.com/path' }, 'ALLOWED_ORIGINS'],
    [{ ALLOWED_HOSTS: 'bad host' }, 'ALLOWED_HOSTS'],
    [{ TRUST_PROXY: 'everyone' }, 'TRUST_PROXY'],
    [{ ADMIN_PASSWORD: 'short' }, 'ADMIN_PASSWORD'],
    [{ ADMIN_USERNAME: 'has space' }, 'ADMIN_USERNAME'],
    [{ JWT_ALGORITHM: 'EdDSA' }, 'JWT_PRIVATE_KEY_FILE'],
    [{ JWT_PRIVATE_KEY_FILE: '/nonexistent.pem', JWT_ALGORITHM: 'EdDSA' }, 'JWT_PRIVATE_KEY_FILE'],
    [{ JWT_PRIVATE_KEY_FILE: 'key.pem' }, 'JWT_PRIVATE_KEY_FILE'],
    [{ OIDC_ISSUER: 'ftp://id.example' }, 'OIDC_ISSUER'],
    [{ OIDC_ISSUER: 'https://id.example', JWT_JWKS_URL: 'https://id.example/jwks' }, 'JWT_JWKS_URL'],
    [{ JWT_JWKS_URL: 'https://id.example/jwks', JWT_AUDIENCE: 'api' }, 'JWT_ISSUER'],
    [{ OIDC_ISSUER: 'https://id.example' }, 'JWT_AUDIENCE'],
    [{ OIDC_ISSUER: 'https://id.example', JWT_AUDIENCE: 'account' }, 'JWT_SECRET_KEY']
  ]
  for (const [env, variable] of cases) {
    const err = failure({ JWT_SECRET_KEY: SECRET, API_KEY_SECRET: SECRET, ...env })
    t.equal(err?.variable, variable, JSON.stringify(env))
    t.ok(err?.message.startsWith(`${variable}: `), err?.message ?? 'no error')
  }
})

t.test('production refuses a missing or short secret, a wildcard origin, no ALLOWED_HOSTS, no PUBLIC_URL', async (t) => {
  t.ok(loadConfig(production, dir()))
  const refused: Array<[Record<string, string | undefined>, string, RegExp]> = [
    [{ JWT_SECRET_KEY: undefined }, 'JWT_SECRET_KEY', /required in production/],
    [{ JWT_SECRET_KEY: 'x'.repeat(31) }, 'JWT_SECRET_KEY', /at least 32 bytes/],
    [{ ALLOWED_ORIGINS: 'https://app.example.com,*' }, 'ALLOWED_ORIGINS', /refused in production/],
    [{ ALLOWED_HOSTS: '' }, 'ALLOWED_HOSTS', /required in production/],
    [{ API_KEY_SECRET: undefined }, 'API_KEY_SECRET', /required in production/],
    // Each instance's issuer would be its own http://HOST:PORT: tokens of one refused by another.
    [{ PUBLIC_URL: undefined }, 'PUBLIC_URL', /required in production: without it each instance's issuer and resource are its own http:\/\/HOST:PORT, so tokens one instance issues are refused by another/]
  ]
  for (const [env, variable, message] of refused) {
    const merged = { ...production, ...env }
    for (const k of Object.keys(merged)) if (merged[k as keyof typeof merged] === undefined) delete merged[k as keyof typeof merged]
    const err = failure(merged as Record<string, string>)
    t.equal(err?.variable, variable)
    t.match(err?.message, message)
  }
})

t.test('development generates missing secrets, says so, and keeps them beside the embedded database', async (t) => {
  const cwd = dir()
  const first = loadConfig({}, cwd)
  t.equal(first.jwt.secret!.length, 43)
  t.match(first.notices, [/JWT_SECRET_KEY is not set: generated a development secret/, /API_KEY_SECRET is not set: generated/])
  const file = join(cwd, 'data', '.dev-secrets.json')
  t.equal(statSync(file).mode & 0o777, 0o600)
  const second = loadConfig({}, cwd)
  t.equal(second.jwt.secret, first.jwt.secret, 'the same secret after a restart')
  t.equal(second.apiKeySecret, first.apiKeySecret)
  t.match(second.notices, [/kept in/])
  const memory = loadConfig({ DATA_DIR: 'memory://' }, cwd)
  t.match(memory.notices, [/ephemeral/])
  t.equal(memory.database, 'memory://')
  t.ok(loadConfig({ ALLOWED_ORIGINS: '*' }, cwd).notices.some((n) => /any site may call/.test(n)), 'a wildcard is only a warning in development')
})

t.test('.env is read under the real environment; NAME_FILE reads a secret from a file', async (t) => {
  const cwd = dir()
  writeFileSync(join(cwd, '.env'), `PORT=8100\nJWT_SECRET_KEY=${'e'.repeat(32)}\nHOST=0.0.0.0\n`)
  writeFileSync(join(cwd, 'api-key-secret'), `${'f'.repeat(40)}\n`)
  const config = loadConfig({ HOST: '127.0.0.2', API_KEY_SECRET_FILE: 'api-key-secret' }, cwd)
  t.equal(config.port, 8100)
  t.equal(config.host, '127.0.0.2', 'the environment wins over .env')
  t.equal(config.jwt.secret, 'e'.repeat(32))
  t.equal(config.apiKeySecret, 'f'.repeat(40), 'trailing newline dropped')
  t.throws(() => loadConfig({ API_KEY_SECRET_FILE: 'missing' }, cwd), { variable: 'API_KEY_SECRET_FILE', message: /cannot read missing \(ENOENT\)/ })
  t.throws(() => loadConfig({ API_KEY_SECRET: SECRET, API_KEY_SECRET_FILE: 'api-key-secret' }, cwd), { variable: 'API_KEY_SECRET_FILE', message: /set together with API_KEY_SECRET/ })
})

t.test('asymmetric keys from files', async (t) => {
  const cwd = dir()
  const pair = generateKeyPairSync('ed25519')
  writeFileSync(join(cwd, 'private.pem'), pair.privateKey.export({ type: 'pkcs8', format: 'pem' }))
  writeFileSync(join(cwd, 'previous.pem'), generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }))
  const config = loadConfig({ JWT_ALGORITHM: 'EdDSA', JWT_PRIVATE_KEY_FILE: 'private.pem', JWT_PUBLIC_KEY_FILE: 'previous.pem', API_KEY_SECRET: SECRET }, cwd)
  t.equal(config.jwt.privateKey, readFileSync(join(cwd, 'private.pem'), 'utf8'))
  t.equal(config.jwt.publicKeys.length, 1)
  t.equal(config.jwt.secret, undefined)
})

t.test('regression: JWT_ALGORITHM must fit the key (ES256 with an Ed25519 key does not start)', async (t) => {
  const { buildApp } = await import('../../app/app.js')
  const { openStores } = await import('../../app/stores.js')
  const cwd = dir()
  writeFileSync(join(cwd, 'private.pem'), generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }))
  for (const [algorithm, ok] of [['ES256', false], ['RS256', false], ['EdDSA', true]] as const) {
    const config = loadConfig({ JWT_ALGORITHM: algorithm, JWT_PRIVATE_KEY_FILE: 'private.pem', API_KEY_SECRET: SECRET, DATA_DIR: 'memory://' }, cwd)
    const start = async (): Promise<void> => {
      const app = await buildApp({ config, stores: await openStores({ database: 'memory://' }), logger: false })
      try { await app.ready() } finally { await app.close() }
    }
    if (ok) await t.resolves(start(), algorithm)
    else await t.rejects(start(), { code: 'WARDEN_ERR_KEY', message: new RegExp(`a ed25519 key cannot be used with ${algorithm}`) }, algorithm)
  }
})

t.test('regression: an audience that is not a URL (a client id such as account) starts; PUBLIC_URL is the resource and the server', async (t) => {
  const { referenceApp } = await import('../helpers/reference-app.js')
  const { closeSharedDatabase } = await import('../helpers/services.js')
  t.teardown(closeSharedDatabase)
  const { app } = await referenceApp(t, { env: { JWT_AUDIENCE: 'account', PUBLIC_URL: 'https://api.example.com/' } })
  const metadata = (await app.inject({ url: '/.well-known/oauth-protected-resource' })).json()
  t.equal(metadata.resource, 'https://api.example.com')
  t.same((await app.inject({ url: '/docs/json' })).json().servers, [{ url: 'https://api.example.com', description: 'The development deployment (PUBLIC_URL)', 'x-internal': false }], 'no empty servers')
  t.equal(loadConfig({ API_KEY_SECRET: SECRET, HOST: '0.0.0.0', PORT: '9000' }, dir()).publicUrl, 'http://0.0.0.0:9000', 'default http://HOST:PORT')
  t.throws(() => loadConfig({ API_KEY_SECRET: SECRET, PUBLIC_URL: 'api.example.com' }, dir()), { variable: 'PUBLIC_URL', message: /PUBLIC_URL/ })
})

t.test('DATABASE_POOL_SIZE and STARTUP_TIMEOUT: defaults and values', async (t) => {
  t.match(loadConfig({ API_KEY_SECRET: SECRET }, dir()), { databasePoolSize: 10, startupTimeout: 60 })
  t.match(loadConfig({ API_KEY_SECRET: SECRET, DATABASE_POOL_SIZE: '1000', STARTUP_TIMEOUT: '0' }, dir()), { databasePoolSize: 1000, startupTimeout: 0 })
})

t.test('LOGIN_RATE_LIMIT: one bound, the token endpoint\'s; the largest accepted value starts the app, the next is refused by name', async (t) => {
  const { referenceApp } = await import('../helpers/reference-app.js')
  const { closeSharedDatabase } = await import('../helpers/services.js')
  t.teardown(closeSharedDatabase)
  const { app } = await referenceApp(t, { env: { LOGIN_RATE_LIMIT: '1000000/minute' } })
  t.equal((await app.inject({ url: '/health' })).statusCode, 200, '1000000/minute: started')
  for (const value of ['1000001/minute', '9999999/second']) {
    const err = failure({ JWT_SECRET_KEY: SECRET, API_KEY_SECRET: SECRET, LOGIN_RATE_LIMIT: value })
    t.equal(err?.variable, 'LOGIN_RATE_LIMIT', value)
    t.equal(err?.message, 'LOGIN_RATE_LIMIT: must be at most 1000000 per window (the failed logins an address may have at the token endpoint and over Basic)')
  }
  t.match(loadConfig({ API_KEY_SECRET: SECRET, RATE_LIMIT: '9999999/minute' }, dir()).rateLimit, { max: 9_999_999 }, 'RATE_LIMIT keeps its own, larger bound')
})

t.test('DPOP_NONCE_SECRET turns DPoP nonces on: a secret of at least 32 bytes, from the variable or a file; unset or empty, off', async (t) => {
  const cwd = dir()
  writeFileSync(join(cwd, 'nonce'), 'n'.repeat(32) + '\n')
  const base = { JWT_SECRET_KEY: SECRET, API_KEY_SECRET: SECRET }
  t.equal(loadConfig({ ...base, DPOP_NONCE_SECRET: 'n'.repeat(40) }, dir()).dpopNonceSecret, 'n'.repeat(40))
  t.equal(loadConfig({ ...base, DPOP_NONCE_SECRET_FILE: 'nonce' }, cwd).dpopNonceSecret, 'n'.repeat(32), 'a Docker or Kubernetes secret')
  t.equal(loadConfig(base, dir()).dpopNonceSecret, undefined)
  t.equal(loadConfig({ ...base, DPOP_NONCE_SECRET: '' }, dir()).dpopNonceSecret, undefined)
  const short = failure({ ...base, DPOP_NONCE_SECRET: 'short' })
  t.equal(short?.variable, 'DPOP_NONCE_SECRET')
  t.match(short?.message, /^DPOP_NONCE_SECRET: .*32 bytes.*\(openssl rand -base64 32\)$/)
})

t.test('.env.example works as a .env, and every variable is in it and in the README', async (t) => {
  const { VARIABLES } = await import('../../app/config.js')
  const example = readFileSync(new URL('../../.env.example', import.meta.url), 'utf8')
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
  const cwd = dir()
  writeFileSync(join(cwd, '.env'), example)
  const config = loadConfig({}, cwd)
  t.match(config, { environment: 'development', port: 8000, jwt: { accessTokenTtl: 900 }, rateLimit: { max: 100 } })
  for (const variable of VARIABLES) {
    t.match(example, new RegExp(`^#? ?${variable}=`, 'm'), `${variable} in .env.example`)
    t.ok(readme.includes(`\`${variable}\``), `${variable} in README.md`)
  }
})

t.test('regression: a DATABASE_URL that does not parse (a password with / or #) is a ConfigError that never quotes it', async (t) => {
  for (const url of ['postgres://app:pa/ss@127.0.0.1:5432/test', 'postgres://app:s3cr#et@db/app', 'postgres://']) {
    const err = failure({ JWT_SECRET_KEY: SECRET, API_KEY_SECRET: SECRET, DATABASE_URL: url })
    t.equal(err?.variable, 'DATABASE_URL', url)
    t.notMatch(err?.message ?? '', /pa\/ss|s3cr/, 'the value is not quoted')
  }
  t.equal(loadConfig({ JWT_SECRET_KEY: SECRET, API_KEY_SECRET: SECRET, DATABASE_URL: 'postgres://app:pa%2Fss@db:5432/app' }, dir()).database, 'postgres://app:pa%2Fss@db:5432/app', 'percent-encoded, it passes')
})
