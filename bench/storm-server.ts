import { availableParallelism } from 'node:os'
import { randomBytes } from 'node:crypto'
import { buildApp } from '../app/app.js'
import { loadConfig } from '../app/config.js'
import { openStores } from '../app/stores.js'
import { openPostgres } from '../stores/sql/postgres.js'
import { createPasswordHasher } from '../plugins/index.js'

// Started by bench/login-storm.ts: the reference app with production password hashing, limits
// out of the way (the storm measures CPU shedding, not the per-address limit), on PGlite.
const secret = randomBytes(32).toString('base64url')
const config = loadConfig(
  {
    ENVIRONMENT: 'development',
    JWT_SECRET_KEY: secret,
    API_KEY_SECRET: secret,
    DATA_DIR: 'memory://',
    LOG_LEVEL: 'silent',
    ADMIN_PASSWORD: 'bench admin password 1234',
    RATE_LIMIT: '1000000/minute',
    LOGIN_RATE_LIMIT: '1000000/minute'
  },
  '/nonexistent'
)
// The defaults, stated: what the report prints.
const concurrency = Math.max(1, availableParallelism() - 1)
const queue = 4 * concurrency
// BENCH_HASHING=pool hashes on this process's libuv pool, as createPasswordHasher() does by
// default, instead of in the reference app's low-priority hashing process.
const isolate = process.env.BENCH_HASHING !== 'pool'
// BENCH_REFUSAL_DELAY (ms): how long refusals wait, to see what the refusals themselves cost.
const refusalDelay = Number(process.env.BENCH_REFUSAL_DELAY ?? 1000)
const refusalRate = 50
const passwords = createPasswordHasher({ concurrency, queue, isolate, refusalDelay, refusalRate })
// BENCH_DATABASE_URL: a PostgreSQL server instead of PGlite (whose queries run on the main
// thread), in a schema of its own that is dropped at the end.
const url = process.env.BENCH_DATABASE_URL
const schema = `warden_storm_${process.pid}`
const database = url === undefined ? 'memory://' : openPostgres(url, { searchPath: schema })
if (typeof database !== 'string') await database.query(`CREATE SCHEMA ${schema}`)
const app = await buildApp({ config, passwords, stores: await openStores({ database }), logger: false, lockout: false })
process.on('SIGTERM', () => {
  const dropped =
    url === undefined
      ? Promise.resolve()
      : openPostgres(url)
        .query(`DROP SCHEMA ${schema} CASCADE`)
        .then(() => {})
  void Promise.all([
    app.close().then(async () => {
      await passwords.close()
    }),
    dropped
  ]).finally(() => process.exit(0))
})
await app.listen({ host: '127.0.0.1', port: 0 })
const address = app.server.address()
process.stdout.write(
  JSON.stringify({ port: typeof address === 'object' && address !== null ? address.port : 0, concurrency, queue, isolate, refusalDelay, refusalRate }) + '\n'
)
