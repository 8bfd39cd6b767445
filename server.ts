import { buildApp } from './app.js'
import { ConfigError, loadConfig } from './config.js'
import { openStores } from './stores/identity.js'

// Reads the environment (and .env), opens the stores, starts the reference API.
let config
try {
  config = loadConfig()
} catch (err) {
  if (!(err instanceof ConfigError)) throw err
  process.stderr.write(`configuration error: ${err.message}\n`)
  process.exit(78) // EX_CONFIG
}

const stores = await openStores({
  database: config.database,
  ...(config.redisUrl === undefined ? {} : { redisUrl: config.redisUrl })
})
const app = await buildApp({
  config,
  stores,
  onAdminCreated (username, password) {
    if (password === undefined) return
    // Printed once, to the terminal only: never into the logs.
    process.stdout.write(`\n  First start: created administrator '${username}' with password\n\n      ${password}\n\n  It is not shown again. Change it with PUT /users/me/password.\n\n`)
  }
})
for (const notice of config.notices) app.log.warn(notice)

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    app.log.info({ signal }, 'shutting down')
    app.close().then(() => process.exit(0), () => process.exit(1))
  })
}

await app.listen({ host: config.host, port: config.port })
app.log.info(`Swagger UI: http://${config.host === '0.0.0.0' ? 'localhost' : config.host}:${(app.server.address() as { port: number }).port}/docs`)
