import { writeFile } from 'node:fs/promises'
import { pathToFileURL } from 'node:url'
import { randomBytes } from 'node:crypto'
import { buildApp } from '../app/app.js'
import { loadConfig } from '../app/config.js'
import { openStores, type Stores } from '../app/stores.js'
import { createPasswordHasher } from '../plugins/index.js'

/**
 * The reference API's OpenAPI document as YAML, exactly as `/docs/yaml` serves it. Secrets are
 * made up (they do not appear in the document); the database is a throw-away one.
 */
export async function referenceDocument (stores?: Stores): Promise<string> {
  const secret = randomBytes(32).toString('base64url')
  // The published document names a public https deployment: SDK users set their own base URL.
  const config = loadConfig({ ENVIRONMENT: 'production', PUBLIC_URL: 'https://api.example.com', ALLOWED_HOSTS: 'api.example.com', ALLOWED_ORIGINS: 'https://app.example.com', JWT_SECRET_KEY: secret, API_KEY_SECRET: secret, DATA_DIR: 'memory://', ADMIN_PASSWORD: secret }, '/nonexistent')
  const app = await buildApp({ config, stores: stores ?? await openStores({ database: 'memory://' }), logger: false, passwords: createPasswordHasher({ memoryCost: 1024, timeCost: 1 }) })
  try {
    await app.ready()
    return app.swagger({ yaml: true })
  } finally {
    await app.close()
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const target = new URL('../openapi.yaml', import.meta.url)
  await writeFile(target, await referenceDocument())
  process.stdout.write(`wrote ${target.pathname}\n`)
}
