import t, { type Test } from 'tap'
import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { openPostgres } from '../../stores/sql/postgres.js'
import { POSTGRES_URL, postgresSkip } from '../helpers/services.js'
import { startPgProxy } from '../helpers/pg-proxy.js'
import { startServer } from '../helpers/server.js'

const CLIENTS = 30
const ADMIN_PASSWORD = 'admin password 1234'

const form = (fields: Record<string, string>): RequestInit => ({
  method: 'POST',
  body: new URLSearchParams(fields).toString(),
  headers: { 'content-type': 'application/x-www-form-urlencoded' }
})

/**
 * Two instances of the reference API on one PostgreSQL schema. Instance A reaches the database
 * through a proxy that lets COMMIT through and loses its answer; A is then killed. The clients
 * whose refresh A had stored never heard back, and retry on B with the same refresh token.
 */
async function interrupted (
  t: Test,
  reuseInterval: number
): Promise<{
  retried: Response[]
  lostCommits: number
  rotatedBeforeRetry: number
  revokedFamilies: number
  bLog: string
  newTokens: Array<{ access_token: string; refresh_token: string }>
}> {
  const admin = openPostgres(POSTGRES_URL, { max: 1 })
  const schema = `test_${randomBytes(6).toString('hex')}`
  await admin.query(`CREATE SCHEMA ${schema}`)
  t.teardown(async () => {
    await admin.query(`DROP SCHEMA ${schema} CASCADE`)
    await admin.close()
  })
  const { hostname, port } = new URL(POSTGRES_URL)
  const proxy = await startPgProxy(t, { host: hostname, port: Number(port || 5432) })
  const databaseUrl = (through: number): string => {
    const url = new URL(POSTGRES_URL)
    url.port = String(through)
    url.searchParams.set('options', `-c search_path=${schema}`)
    return url.toString()
  }
  const env = {
    ENVIRONMENT: 'development',
    PUBLIC_URL: 'http://api.example.test',
    JWT_SECRET_KEY: randomBytes(32).toString('base64url'),
    API_KEY_SECRET: randomBytes(32).toString('base64url'),
    ADMIN_PASSWORD,
    RATE_LIMIT: '100000/minute',
    LOGIN_RATE_LIMIT: '100000/minute',
    REFRESH_TOKEN_REUSE_INTERVAL: String(reuseInterval)
  }
  const a = await startServer({ ...env, DATABASE_URL: databaseUrl(proxy.port) })
  t.teardown(() => {
    a.child.kill('SIGKILL')
  })
  const b = await startServer({ ...env, DATABASE_URL: databaseUrl(Number(port || 5432)) })
  t.teardown(async () => {
    b.child.kill('SIGKILL')
    await b.exited
  })

  const sessions: Array<{ refresh_token: string }> = []
  for (let i = 0; i < CLIENTS; i++) {
    const res = await fetch(`${b.url}/auth/token`, form({ grant_type: 'password', username: 'admin', password: ADMIN_PASSWORD }))
    t.equal(res.status, 200)
    sessions.push((await res.json()) as { refresh_token: string })
  }

  proxy.loseCommitReplies = true
  // Settled as they end (a rejection must not wait unhandled for the kill).
  const onA = sessions.map(
    async (s) =>
      await fetch(`${a.url}/auth/token`, form({ grant_type: 'refresh_token', refresh_token: s.refresh_token })).then(
        () => 'answered',
        () => 'lost'
      )
  )
  // Every connection of A's pool commits one rotation and hears nothing back.
  for (let waited = 0; proxy.lostCommits < 10 && waited < 15_000; waited += 50) await sleep(50)
  a.child.kill('SIGKILL')
  await a.exited
  const answeredByA = (await Promise.all(onA)).filter((r) => r === 'answered').length
  t.equal(answeredByA, 0, 'no client heard back from the killed instance')
  const [{ count: rotatedBeforeRetry }] = await admin.query<{ count: number }>(
    `SELECT count(*)::int AS count FROM ${schema}.warden_refresh_tokens WHERE rotated_at IS NOT NULL`
  )

  const retried = await Promise.all(
    sessions.map(async (s) => await fetch(`${b.url}/auth/token`, form({ grant_type: 'refresh_token', refresh_token: s.refresh_token })))
  )
  const newTokens = await Promise.all(
    retried.filter((r) => r.status === 200).map(async (r) => (await r.json()) as { access_token: string; refresh_token: string })
  )
  const [{ count: revokedFamilies }] = await admin.query<{ count: number }>(
    `SELECT count(*)::int AS count FROM ${schema}.warden_refresh_families WHERE revoked_at IS NOT NULL`
  )
  return { retried, lostCommits: proxy.lostCommits, rotatedBeforeRetry, revokedFamilies, bLog: b.output(), newTokens }
}

const skip = await postgresSkip()

t.test(
  'a refresh stored by an instance killed before it answered is retried on another within the reuse interval: nobody is logged out',
  { skip },
  async (t) => {
    const run = await interrupted(t, 10)
    t.ok(run.lostCommits >= 1, `the killed instance had stored ${run.lostCommits} rotations whose replies were lost`)
    t.equal(run.rotatedBeforeRetry, run.lostCommits, 'each lost reply is a rotation the database kept')
    t.same(
      run.retried.map((r) => r.status),
      Array(CLIENTS).fill(200),
      "every client's retry on the other instance is answered"
    )
    t.equal(run.revokedFamilies, 0, 'no session was revoked')
    t.notMatch(run.bLog, /reuse_detected/, 'no theft alert')
    const bUrl = new URL(run.retried[0].url).origin
    for (const tokens of run.newTokens) {
      t.equal((await fetch(`${bUrl}/users/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } })).status, 200)
    }
    const again = await Promise.all(
      run.newTokens.map(
        async (tokens) => (await fetch(`${bUrl}/auth/token`, form({ grant_type: 'refresh_token', refresh_token: tokens.refresh_token }))).status
      )
    )
    t.same(again, Array(CLIENTS).fill(200), 'the sessions go on refreshing')
  }
)

t.test('without a reuse interval the same interruption logs out exactly the clients whose rotation was stored', { skip }, async (t) => {
  const run = await interrupted(t, 0)
  t.ok(run.lostCommits >= 1)
  const refused = run.retried.filter((r) => r.status === 400).length
  t.equal(refused, run.lostCommits, 'each lost reply reads as a reuse (RFC 9700 §4.14.2 as written)')
  t.equal(run.revokedFamilies, run.lostCommits)
  t.match(run.bLog, /reuse_detected/)
})
