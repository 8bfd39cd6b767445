import { buildApp } from './app.js'
import { ConfigError, loadConfig, type Config } from './config.js'
import { openStores, type Stores } from './stores.js'
import { DatabaseUnavailable, isConnectionError } from '../stores/index.js'
import { connectRedis, describeRedis, type RedisClient } from './redis.js'
import { StartupError, untilAvailable, type RetryOptions } from './startup.js'

// Reads the environment (and .env), waits for the database and Redis, starts the reference API.
let config: Config
try {
  config = loadConfig()
} catch (err) {
  if (!(err instanceof ConfigError)) throw err
  process.stderr.write(`configuration error: ${err.message}\n`)
  process.exit(78) // EX_CONFIG
}

/** Where the database is, for messages: host:port of a server (never its URL: it may carry a password). */
function describeDatabase (url: string): string {
  if (!/^postgres(ql)?:\/\//.test(url)) return `the embedded database in ${url}`
  const { hostname, port } = new URL(url)
  return `PostgreSQL at ${hostname === '' ? 'localhost' : hostname}:${port === '' ? 5432 : port}`
}

// The stores' background faults (a purge, a reread, a malformed message; an outage once): on stderr
// until the app's logger exists, then through it.
let report = (err: Error): void => {
  process.stderr.write(`stores: ${err.message}\n`)
}

/** Redis, then the stores on the database (which use Redis), each waited for until STARTUP_TIMEOUT. */
async function dependencies (): Promise<{ redis: RedisClient | undefined; stores: Stores }> {
  // Before the app's logger exists: plain lines on stderr, as the configuration errors.
  const retry: RetryOptions = {
    timeout: config.startupTimeout * 1000,
    log: (line) => {
      process.stderr.write(`start-up: ${line}\n`)
    }
  }
  const settings = config.redis
  const redis =
    settings === undefined
      ? undefined
      : await untilAvailable(
        describeRedis(settings),
        async () => await connectRedis(settings),
        () => true,
        retry
      )
  try {
    const open = async (): Promise<Stores> =>
      await openStores({
        database: config.database,
        pool: config.databasePoolSize,
        ...(redis === undefined ? {} : { redis }),
        onError: (err) => {
          report(err)
        }
      })
        // The driver's own error names the fault (connect ECONNREFUSED host:port); the wrapper adds nothing here.
        .catch((err: unknown) => {
          throw err instanceof DatabaseUnavailable ? err.cause : err
        })
    const stores = await untilAvailable(describeDatabase(config.database), open, isConnectionError, retry)
    return { redis, stores }
  } catch (err) {
    redis?.disconnect()
    throw err
  }
}

let started: Awaited<ReturnType<typeof dependencies>>
try {
  started = await dependencies()
} catch (err) {
  if (!(err instanceof StartupError)) throw err
  process.stderr.write(`start-up failed: ${err.message}\n`)
  process.exit(69) // EX_UNAVAILABLE
}
const { redis, stores } = started

const app = await buildApp({
  config,
  stores,
  ...(redis === undefined ? {} : { redis }),
  onAdminCreated (username, password) {
    if (password === undefined) return
    // Printed once, to the terminal only: never into the logs.
    process.stdout.write(
      `\n  First start: created administrator '${username}' with password\n\n      ${password}\n\n` +
        '  It is not shown again. Change it with PUT /users/me/password.\n\n'
    )
  }
})
report = (err) => {
  app.log.error({ err }, 'stores: background work failed')
}
// The app closes the stores; the client is this file's.
app.addHook('onClose', async () => {
  redis?.disconnect()
})
for (const notice of config.notices) app.log.warn(notice)

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    app.log.info({ signal }, 'shutting down')
    app.close().then(
      () => process.exit(0),
      () => process.exit(1)
    )
  })
}

await app.listen({ host: config.host, port: config.port })
app.log.info(`Swagger UI: http://${config.host === '0.0.0.0' ? 'localhost' : config.host}:${(app.server.address() as { port: number }).port}/docs`)
