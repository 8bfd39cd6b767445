import t from 'tap'
import Fastify from 'fastify'
import { existsSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { chromium } from 'playwright-core'
import { RESOURCE as AUDIENCE, ecKey, startProvider } from '../helpers/oidc-provider.js'
import { warden, oauth2Bearer, openapi } from '../../plugins/index.js'
import { freePort } from '../helpers/services.js'

const CHROMIUM = '/usr/bin/chromium'

t.test(
  'Swagger UI logs in against a real OpenID provider with the authorization code flow and PKCE, then calls a protected route',
  {
    skip: existsSync(CHROMIUM) || process.env.CI === 'true' ? false : `${CHROMIUM} is not installed (apt-get install chromium; .ci/run installs it)`
  },
  async (t) => {
    const [providerPort, apiPort] = [await freePort(), await freePort()]
    const issuer = `http://127.0.0.1:${providerPort}`
    const api = `http://127.0.0.1:${apiPort}`

    const stop = await startProvider(providerPort, {
      keys: [ecKey('k1').jwk],
      scopes: ['openid', 'users:read'],
      interactive: true,
      clients: [
        {
          client_id: 'swagger-ui',
          token_endpoint_auth_method: 'none',
          grant_types: ['authorization_code'],
          response_types: ['code'],
          redirect_uris: [`${api}/docs/static/oauth2-redirect.html`],
          scope: 'openid users:read'
        }
      ]
    })
    t.teardown(stop)

    const app = Fastify()
    await app.register(warden, { scopes: { 'users:read': 'Read users' } })
    await app.register(openapi, {
      info: { title: 'notes', version: '1' },
      login: { clientId: 'swagger-ui', providerOrigin: issuer, scopes: ['openid', 'users:read'] }
    })
    await app.register(oauth2Bearer, { discovery: true, issuer, audience: AUDIENCE })
    app.get('/users', { schema: { security: [{ oauth2: ['users:read'] }] } }, async (request) => ({
      subject: request.auth.subject,
      client: request.auth.claims?.client_id
    }))
    await app.listen({ port: apiPort, host: '127.0.0.1' })
    t.teardown(() => app.close())

    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync'
      ]
    })
    t.teardown(() => browser.close())
    const context = await browser.newContext()
    const page = await context.newPage()
    const authorizations: string[] = []
    context.on('request', (request) => {
      if (request.url().startsWith(`${issuer}/auth?`)) authorizations.push(request.url())
    })
    const problems: string[] = []
    page.on('pageerror', (error) => problems.push(error.message))
    page.on('console', (message) => {
      if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) problems.push(message.text())
    })
    const folder = new URL('../../.tap/browser/', import.meta.url)
    await mkdir(folder, { recursive: true })

    try {
      await page.goto(`${api}/docs/`)
      await page.locator('.btn.authorize').click()
      // Swagger UI reads the provider's discovery document and offers its flows; ours is the code flow with PKCE.
      const dialog = page.locator('.auth-container').filter({ hasText: 'authorization_code with PKCE' }).first()
      await dialog.waitFor({ timeout: 15_000 })
      // The provider's sign-in opens in a popup: any user name on oidc-provider's development pages, then consent.
      const popupPromise = page.waitForEvent('popup')
      await dialog.locator('.auth-btn-wrapper .authorize').click()
      const popup = await popupPromise
      await popup.locator('input[name="login"]').fill('ada')
      await popup.locator('input[name="password"]').fill('anything')
      await popup.locator('button[type="submit"]').click()
      await popup.locator('button[type="submit"]').click()
      await dialog.getByText('Logout').waitFor({ timeout: 15_000 })
      await page.locator('.modal-ux .close-modal').first().click()

      const block = page.locator('.opblock-get').first()
      await block.locator('.opblock-summary').first().click()
      await block.locator('.try-out__btn').click()
      await block.locator('.execute').click()
      const status = block.locator('.live-responses-table .response .response-col_status').first()
      await status.waitFor({ timeout: 15_000 })
      t.equal((await status.innerText()).trim(), '200', 'a protected route, with the token from the provider')
      const authorization = new URL(authorizations[0])
      t.equal(authorization.searchParams.get('response_type'), 'code')
      t.equal(authorization.searchParams.get('code_challenge_method'), 'S256', 'PKCE')
      t.match(authorization.searchParams.get('code_challenge'), /^[A-Za-z0-9_-]{43}$/)
      t.match(await block.locator('.live-responses-table .response .microlight').first().innerText(), /"subject": "ada"[\s\S]*"client": "swagger-ui"/)
    } finally {
      await page.screenshot({ path: new URL('provider-login.png', folder).pathname, fullPage: true })
    }
    t.same(problems, [], 'no script error and nothing blocked by the docs page CSP')
  }
)
