import t from 'tap'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Cluster, Redis } from 'ioredis'
import { loadConfig, ConfigError } from '../../app/config.js'
import { connectRedis, createRedis, describeRedis, type RedisSettings } from '../../app/redis.js'
import { StartupError, untilAvailable } from '../../app/startup.js'
import { freePort } from '../helpers/services.js'
import { startRedisServer } from '../helpers/redis-server.js'
import { spawnServer } from '../helpers/server.js'
import { redisServerSkip, startRedisServer as startOwnRedis } from '../helpers/redis-servers.js'
import { DEFAULT_LOCKOUT } from '../../plugins/core/login-attempts.js'
import { redisLoginAttempts } from '../../stores/index.js'

const SECRET = 'a'.repeat(32)
const dir = (): string => mkdtempSync(join(tmpdir(), 'warden-redis-'))
const redisOf = (env: Record<string, string>, cwd = dir()): RedisSettings | undefined =>
  loadConfig({ JWT_SECRET_KEY: SECRET, API_KEY_SECRET: SECRET, ...env }, cwd).redis
const refusal = (env: Record<string, string>, cwd = dir()): string => {
  try {
    redisOf(env, cwd)
  } catch (err) {
    if (err instanceof ConfigError) return err.message
    throw err
  }
  return 'accepted'
}
const PEM = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n'

t.test('Redis by environment: a node, a Cluster or Sentinel, with a CA and a password', async (t) => {
  const cwd = dir()
  writeFileSync(join(cwd, 'ca.pem'), PEM)
  writeFileSync(join(cwd, 'password'), 'from a secret\n')
  t.equal(redisOf({}), undefined, 'none configured')
  t.same(redisOf({ REDIS_URL: 'rediss://cache:6380', REDIS_TLS_CA_FILE: 'ca.pem', REDIS_PASSWORD_FILE: 'password' }, cwd), {
    kind: 'node',
    url: 'rediss://cache:6380',
    ca: PEM,
    password: 'from a secret'
  })
  t.same(redisOf({ REDIS_CLUSTER_NODES: ' 10.0.0.1:7000, [::1]:7001,redis-2.internal:7002 ' }), {
    kind: 'cluster',
    nodes: [
      { host: '10.0.0.1', port: 7000 },
      { host: '::1', port: 7001 },
      { host: 'redis-2.internal', port: 7002 }
    ]
  })
  t.same(redisOf({ REDIS_SENTINELS: 's1:26379,s2:26379', REDIS_SENTINEL_NAME: 'mymaster', REDIS_PASSWORD: 'pw' }), {
    kind: 'sentinel',
    sentinels: [
      { host: 's1', port: 26379 },
      { host: 's2', port: 26379 }
    ],
    name: 'mymaster',
    password: 'pw'
  })
})

t.test('Redis variables that contradict each other or are incomplete stop start-up, naming the variable', async (t) => {
  const cwd = dir()
  writeFileSync(join(cwd, 'ca.pem'), PEM)
  writeFileSync(join(cwd, 'not-a-cert.pem'), 'hello')
  const cases: Array<[Record<string, string>, string]> = [
    [
      { REDIS_URL: 'redis://a:6379', REDIS_CLUSTER_NODES: 'b:7000' },
      'REDIS_CLUSTER_NODES: set together with REDIS_URL; give one of them (a node, a Cluster or Sentinel)'
    ],
    [
      { REDIS_CLUSTER_NODES: 'b:7000', REDIS_SENTINELS: 's:26379', REDIS_SENTINEL_NAME: 'm' },
      'REDIS_SENTINELS: set together with REDIS_CLUSTER_NODES; give one of them (a node, a Cluster or Sentinel)'
    ],
    [{ REDIS_SENTINELS: 's:26379' }, 'REDIS_SENTINEL_NAME: is required with REDIS_SENTINELS (the master name the sentinels monitor)'],
    [{ REDIS_SENTINEL_NAME: 'm' }, 'REDIS_SENTINEL_NAME: is for REDIS_SENTINELS, which is not set'],
    [{ REDIS_CLUSTER_NODES: 'b' }, "REDIS_CLUSTER_NODES: 'b' is not host:port"],
    [{ REDIS_CLUSTER_NODES: 'b:0' }, "REDIS_CLUSTER_NODES: 'b:0' is not host:port"],
    [{ REDIS_CLUSTER_NODES: ' , ' }, 'REDIS_CLUSTER_NODES: names no host:port'],
    [{ REDIS_SENTINELS: 's:99999', REDIS_SENTINEL_NAME: 'm' }, "REDIS_SENTINELS: 's:99999' is not host:port"],
    [{ REDIS_URL: 'redis://a:6379', REDIS_TLS_CA_FILE: 'ca.pem' }, 'REDIS_TLS_CA_FILE: is for TLS: REDIS_URL must then be rediss://'],
    [{ REDIS_URL: 'rediss://a:6379', REDIS_TLS_CA_FILE: 'missing.pem' }, 'REDIS_TLS_CA_FILE: cannot read missing.pem (ENOENT)'],
    [{ REDIS_URL: 'rediss://a:6379', REDIS_TLS_CA_FILE: 'not-a-cert.pem' }, 'REDIS_TLS_CA_FILE: not-a-cert.pem holds no PEM certificate'],
    [{ REDIS_URL: 'redis://:secret@a:6379', REDIS_PASSWORD: 'other' }, 'REDIS_PASSWORD: set together with a password in REDIS_URL; give one of them'],
    [{ REDIS_URL: 'redis://:secret@[nope:6379' }, 'REDIS_URL: is not a URL such as redis://host:6379'],
    [{ REDIS_PASSWORD: 'pw' }, 'REDIS_PASSWORD: is set but no Redis is: set REDIS_URL, REDIS_CLUSTER_NODES or REDIS_SENTINELS'],
    [{ REDIS_TLS_CA_FILE: 'ca.pem' }, 'REDIS_TLS_CA_FILE: is set but no Redis is: set REDIS_URL, REDIS_CLUSTER_NODES or REDIS_SENTINELS'],
    [{ REDIS_SENTINELS: 's:1', REDIS_SENTINEL_NAME: 'has space' }, 'REDIS_SENTINEL_NAME: must match pattern "^[A-Za-z0-9_.-]{1,64}$"']
  ]
  for (const [env, message] of cases) t.equal(refusal(env, cwd), message, JSON.stringify(env))
  t.notMatch(refusal({ REDIS_URL: 'redis://:secret@[nope:6379' }, cwd), /secret/, 'a URL that fails is never quoted')
})

t.test('the client fits the topology: fail-fast options, READONLY reconnects, TLS with the CA; where it is, without the password', async (t) => {
  const node = createRedis({ kind: 'node', url: 'rediss://:pw@cache:6380', ca: PEM }) as Redis
  t.ok(node instanceof Redis)
  t.match(node.options, {
    host: 'cache',
    port: 6380,
    password: 'pw',
    tls: { ca: PEM },
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: 1000
  })
  t.equal(
    node.options.reconnectOnError!(new Error("READONLY You can't write against a read only replica.")),
    2,
    'a write refused by a demoted master: reconnect and resend'
  )
  t.equal(node.options.reconnectOnError!(new Error('ERR unknown command')), false)
  t.equal(describeRedis({ kind: 'node', url: 'rediss://user:pw@cache:6380/0' }), 'Redis at cache:6380')
  t.equal(describeRedis({ kind: 'node', url: 'redis://cache' }), 'Redis at cache:6379')

  const sentinel = createRedis({ kind: 'sentinel', sentinels: [{ host: 's1', port: 26379 }], name: 'mymaster', password: 'pw', ca: PEM }) as Redis
  t.ok(sentinel instanceof Redis)
  t.match(sentinel.options, {
    sentinels: [{ host: 's1', port: 26379 }],
    name: 'mymaster',
    role: 'master',
    password: 'pw',
    tls: { ca: PEM },
    sentinelTLS: { ca: PEM },
    enableTLSForSentinelMode: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    lazyConnect: true
  })
  t.equal(sentinel.options.reconnectOnError!(new Error('READONLY')), 2)
  t.equal(
    describeRedis({
      kind: 'sentinel',
      sentinels: [
        { host: 's1', port: 26379 },
        { host: '::1', port: 26380 }
      ],
      name: 'mymaster'
    }),
    "Redis master 'mymaster' through Sentinel at s1:26379, [::1]:26380"
  )

  const cluster = createRedis({ kind: 'cluster', nodes: [{ host: 'n1', port: 7000 }], password: 'pw' }) as Cluster
  t.ok(cluster instanceof Cluster)
  t.match(cluster.options, { lazyConnect: true, enableOfflineQueue: false, redisOptions: { maxRetriesPerRequest: 1, commandTimeout: 1000, password: 'pw' } })
  t.equal(
    describeRedis({
      kind: 'cluster',
      nodes: [
        { host: 'n1', port: 7000 },
        { host: 'n2', port: 7001 }
      ]
    }),
    'Redis Cluster at n1:7000, n2:7001'
  )
})

/** A CA, a server certificate it signs for 127.0.0.1, and another CA that signed nothing. */
function certificates (): string {
  const folder = dir()
  const ssl = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: folder, stdio: 'ignore' })
  }
  for (const ca of ['ca', 'other-ca']) {
    ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${ca}.key`, '-out', `${ca}.pem`, '-days', '1', '-subj', `/CN=${ca}`)
  }
  ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1')
  writeFileSync(join(folder, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n')
  ssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.pem', '-days', '1', '-extfile', 'san.ext')
  return folder
}

t.test('TLS, live: the right CA connects; another CA stops start-up naming the certificate problem, not "Connection is closed."', async (t) => {
  const certs = certificates()
  const redis = await startRedisServer(0, [
    '--tls-port',
    String(await freePort()),
    '--tls-cert-file',
    join(certs, 'server.pem'),
    '--tls-key-file',
    join(certs, 'server.key'),
    '--tls-ca-cert-file',
    join(certs, 'ca.pem'),
    '--tls-auth-clients',
    'no'
  ])
  t.teardown(redis.stop)
  const url = `rediss://127.0.0.1:${redis.port}`
  const retry = {
    timeout: 5_000,
    log: (line: string) => {
      t.fail(`no retry expected: ${line}`)
    }
  }

  const trusted = await untilAvailable(
    `Redis at 127.0.0.1:${redis.port}`,
    async () => await connectRedis(redisOf({ REDIS_URL: url, REDIS_TLS_CA_FILE: join(certs, 'ca.pem') })!),
    () => true,
    retry
  )
  t.equal(await trusted.ping(), 'PONG', 'verified against its CA, and answering')
  trusted.disconnect()

  const settings = redisOf({ REDIS_URL: url, REDIS_TLS_CA_FILE: join(certs, 'other-ca.pem') })!
  const refused = await untilAvailable(
    describeRedis(settings),
    async () => await connectRedis(settings),
    () => true,
    retry
  ).catch((err: unknown) => err)
  t.ok(refused instanceof StartupError)
  t.match(
    (refused as Error).message,
    new RegExp(
      `^Redis at 127\\.0\\.0\\.1:${redis.port}: TLS certificate verification failed \\((UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN)\\)$`
    ),
    'named at once, no retry'
  )

  // The same through server.ts: exit status 69 and the reason on stderr.
  const server = spawnServer({ DATA_DIR: 'memory://', REDIS_URL: url, REDIS_TLS_CA_FILE: join(certs, 'other-ca.pem') })
  t.equal(await server.exited, 69)
  t.match(server.output(), new RegExp(`start-up failed: Redis at 127\\.0\\.0\\.1:${redis.port}: TLS certificate verification failed \\(\\w+\\)\\n`))
  t.notMatch(server.output(), /Connection is closed/)
})

t.test('a Redis that comes up after the first try: waited for with backoff, one line per attempt, and the client then reconnects by itself', async (t) => {
  const port = await freePort()
  const lines: string[] = []
  const settings = redisOf({ REDIS_URL: `redis://:s3cret-pw@127.0.0.1:${port}` })!
  let server: Awaited<ReturnType<typeof startRedisServer>> | undefined
  t.teardown(async () => {
    await server?.stop()
  })
  const client = await untilAvailable(
    describeRedis(settings),
    async () => await connectRedis(settings),
    () => true,
    {
      timeout: 20_000,
      firstDelay: 200,
      log: (line) => {
        lines.push(line)
        // Started after the second refusal, as a container that boots late.
        if (lines.length === 2) {
          void startRedisServer(port, ['--requirepass', 's3cret-pw']).then((s) => {
            server = s
          })
        }
      }
    }
  )
  t.teardown(() => {
    client.disconnect()
  })
  t.equal(await client.ping(), 'PONG')
  t.ok(lines.length >= 2)
  t.same(
    lines.slice(0, 2),
    [
      `Redis at 127.0.0.1:${port} is not available (connect ECONNREFUSED 127.0.0.1:${port}); attempt 1 failed, next in 0.2 s`,
      `Redis at 127.0.0.1:${port} is not available (connect ECONNREFUSED 127.0.0.1:${port}); attempt 2 failed, next in 0.4 s`
    ],
    'host:port and the reason, the wait doubling, never the password'
  )

  // Restarted under it: the client reconnects on its own (no flag left from the failed tries).
  await server!.stop()
  server = await startRedisServer(port, ['--requirepass', 's3cret-pw'])
  let answer: unknown
  for (let i = 0; i < 100 && answer !== 'PONG'; i++) {
    answer = await client.ping().catch((err: Error) => err.message)
    if (answer !== 'PONG') await new Promise((resolve) => setTimeout(resolve, 50))
  }
  t.equal(answer, 'PONG', 'reconnected after a restart')
})

t.test('a wrong password is named and not retried', async (t) => {
  const server = await startRedisServer(await freePort(), ['--requirepass', 'right-password'])
  t.teardown(server.stop)
  const settings = redisOf({ REDIS_URL: `redis://127.0.0.1:${server.port}`, REDIS_PASSWORD: 'wrong-password' })!
  const err = await untilAvailable(
    describeRedis(settings),
    async () => await connectRedis(settings),
    () => true,
    {
      timeout: 5_000,
      log: (line) => {
        t.fail(line)
      }
    }
  ).then(
    () => new Error('connected'),
    (e: unknown) => e as Error
  )
  t.match(err, { name: 'StartupError', message: `Redis at 127.0.0.1:${server.port}: authentication failed (WRONGPASS)` })
  t.notMatch(err.message, /password/i)
})

t.test(
  'regression: a Redis that hangs with its connection open (SIGSTOP) fails each command within a second, so the login fallback engages',
  { skip: await redisServerSkip() },
  async (t) => {
    const server = await startOwnRedis(t)
    const client = createRedis({ kind: 'node', url: server.url })
    client.on('error', () => {})
    t.teardown(() => {
      client.disconnect()
    })
    await client.connect()
    const lines: string[] = []
    const attempts = redisLoginAttempts(client, { log: { warn: (_d, m) => lines.push(`warn ${m}`), info: (_d, m) => lines.push(`info ${m}`) } })
    t.match(await attempts.reserve('k', DEFAULT_LOCKOUT), { granted: true })
    server.pause()
    t.teardown(() => {
      server.resume()
    })
    const started = Date.now()
    t.match(await attempts.reserve('k', DEFAULT_LOCKOUT), { granted: true }, 'counted on this instance')
    const waited = Date.now() - started
    t.ok(waited < 2_500, `answered after ${waited} ms, not when TCP gives up`)
    t.same(lines, ['warn Redis (login attempts) unavailable'])
  }
)
