import t from 'tap'
import { randomBytes } from 'node:crypto'
import { buildApp } from '../../app/app.js'
import { openStores } from '../../app/stores.js'
import { openPostgres } from '../../stores/sql/postgres.js'
import { fastPasswords, testConfig } from '../helpers/reference-app.js'
import { freePort, postgresSkip, POSTGRES_URL } from '../helpers/services.js'
import { spawnServer } from '../helpers/server.js'
import { startRedisServer } from '../helpers/redis-server.js'

t.test('three instances starting together on an empty database all start, with one administrator', { skip: await postgresSkip() }, async (t) => {
  const schema = `boot_${randomBytes(6).toString('hex')}`
  const admin = openPostgres(POSTGRES_URL, { max: 1 })
  await admin.query(`CREATE SCHEMA ${schema}`)
  t.teardown(async () => {
    await admin.query(`DROP SCHEMA ${schema} CASCADE`)
    await admin.close()
  })
  const config = testConfig()
  const created: string[] = []
  // Each its own pool on the same, unmigrated schema: migrations and bootstrap race for real.
  // (No load shedding: three start-ups on two cores stall the loop; shedding has tests of its own.)
  const instances = await Promise.allSettled(
    [1, 2, 3].map(async () => {
      const stores = await openStores({ database: openPostgres(POSTGRES_URL, { searchPath: schema, max: 2 }) })
      const app = await buildApp({
        config,
        stores,
        passwords: fastPasswords,
        logger: false,
        pressure: { maxEventLoopDelay: 0 },
        onAdminCreated: (username) => {
          created.push(username)
        }
      })
      try {
        await app.ready()
      } catch (err) {
        await app.close()
        throw err
      }
      t.teardown(() => app.close())
      return app
    })
  )
  t.same(
    instances.map((i) => (i.status === 'rejected' ? String(i.reason) : 'started')),
    ['started', 'started', 'started']
  )
  t.same(created, ['admin'], 'one of them created the administrator, and said so once')
  t.same(await admin.query(`SELECT username, role FROM ${schema}.users`), [{ username: 'admin', role: 'admin' }], 'exactly one user row')
  for (const instance of instances) {
    if (instance.status !== 'fulfilled') continue
    const login = await instance.value.inject({
      method: 'POST',
      url: '/auth/token',
      payload: 'grant_type=password&username=admin&password=admin%20password%201234',
      headers: { 'content-type': 'application/x-www-form-urlencoded' }
    })
    t.equal(login.statusCode, 200, login.statusCode === 200 ? 'every instance logs the administrator in' : login.body)
  }
})

t.test('server.ts with PostgreSQL down: one line per attempt naming host:port, then exit 69 naming it; never the password', async (t) => {
  const port = await freePort()
  const started = Date.now()
  const server = spawnServer({ DATABASE_URL: `postgres://warden:db-s3cret@127.0.0.1:${port}/app`, STARTUP_TIMEOUT: '3' })
  t.equal(await server.exited, 69)
  const output = server.output()
  const attempts = output.split('\n').filter((l) => l.startsWith('start-up: '))
  t.ok(attempts.length >= 2 && attempts.length <= 4, `${attempts.length} attempts in 3 s (0.5, 1, 2 s apart)`)
  t.equal(attempts[0], `start-up: PostgreSQL at 127.0.0.1:${port} is not available (connect ECONNREFUSED 127.0.0.1:${port}); attempt 1 failed, next in 0.5 s`)
  t.match(attempts[1], /attempt 2 failed, next in 1 s$/)
  t.match(
    output,
    new RegExp(
      `start-up failed: PostgreSQL at 127\\.0\\.0\\.1:${port} did not answer within 3 s ` +
        `\\(\\d attempts; last: connect ECONNREFUSED 127\\.0\\.0\\.1:${port}\\)\\n`
    )
  )
  t.notMatch(output, /db-s3cret|warden:/, 'no password, no user')
  t.notMatch(output, /\n\s+at /, 'no stack trace')
  t.ok(Date.now() - started < 15_000, 'gave up on time')
})

t.test('server.ts with Redis down at start: waits, and serves once a Redis started mid-way answers', async (t) => {
  const port = await freePort()
  const server = spawnServer({ DATA_DIR: 'memory://', REDIS_URL: `redis://:r3dis-s3cret@127.0.0.1:${port}`, STARTUP_TIMEOUT: '60' })
  t.teardown(() => {
    server.child.kill('SIGTERM')
  })
  await server.printed(/attempt 2 failed/)
  const redis = await startRedisServer(port, ['--requirepass', 'r3dis-s3cret'])
  t.teardown(redis.stop)
  const [, url] = await server.printed(/Server listening at (http:\/\/127\.0\.0\.1:\d+)/)
  t.match(
    server.output(),
    new RegExp(
      `start-up: Redis at 127\\.0\\.0\\.1:${port} is not available \\(connect ECONNREFUSED 127\\.0\\.0\\.1:${port}\\); attempt 1 failed, next in 0\\.5 s`
    )
  )
  t.notMatch(server.output(), /r3dis-s3cret/)
  t.equal((await fetch(`${url}/health`)).status, 200)
  const limited = await fetch(`${url}/health`)
  t.ok(limited.headers.get('x-ratelimit-remaining'), 'rate limits counted (in Redis)')
})

t.test('DATABASE_POOL_SIZE reaches the pool: never more connections than it allows', { skip: await postgresSkip() }, async (t) => {
  const schema = `pool_${randomBytes(6).toString('hex')}`
  const admin = openPostgres(POSTGRES_URL, { max: 1 })
  await admin.query(`CREATE SCHEMA ${schema}`)
  const stores = await openStores({ database: `${POSTGRES_URL}?application_name=${schema}&options=-c%20search_path%3D${schema}`, pool: 3 })
  t.teardown(async () => {
    await stores.close()
    await admin.query(`DROP SCHEMA ${schema} CASCADE`)
    await admin.close()
  })
  const sleeping = Promise.all(Array.from({ length: 8 }, async () => await stores.db.query('SELECT pg_sleep(0.4)')))
  await new Promise((resolve) => setTimeout(resolve, 200))
  const [{ n }] = await admin.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1', [schema])
  await sleeping
  t.equal(n, 3, '8 queries at once on a pool of 3: 3 connections')
})
