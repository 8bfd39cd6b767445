import t from 'tap'
import { existsSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { chromium, type Page } from 'playwright-core'
import { referenceApp, ADMIN_PASSWORD } from '../helpers/reference-app.js'
import { freePort } from '../helpers/services.js'
import { closeSharedDatabase } from '../helpers/services.js'

const CHROMIUM = '/usr/bin/chromium'
t.teardown(closeSharedDatabase)

async function execute (page: Page, method: string, path: string): Promise<string> {
  const block = page
    .locator(`.opblock-${method}`)
    .filter({ has: page.locator(`.opblock-summary-path[data-path="${path}"]`) })
    .first()
  await block.locator('.opblock-summary').first().click()
  await block.locator('.try-out__btn').click()
  await block.locator('.execute').click()
  const status = block.locator('.live-responses-table .response .response-col_status').first()
  await status.waitFor({ timeout: 15_000 })
  return (await status.innerText()).trim()
}

t.test(
  'Swagger UI in Chromium: password-flow login, scoped calls, a 403, and no CSP violation',
  {
    // In CI it must run (.ci/run installs Chromium), so only a developer's machine may skip.
    skip: existsSync(CHROMIUM) || process.env.CI === 'true' ? false : `${CHROMIUM} is not installed (apt-get install chromium; .ci/run installs it)`
  },
  async (t) => {
    // Swagger UI calls the document's server (PUBLIC_URL), so it is this one.
    const port = await freePort()
    const url = `http://127.0.0.1:${port}`
    const { app } = await referenceApp(t, { env: { PUBLIC_URL: url } })
    t.ok(app.hasPlugin('fastify-warden/security-headers'), 'the reference app sends its security headers')
    await app.listen({ host: '127.0.0.1', port })

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
    const page = await browser.newPage()
    const problems: string[] = []
    // HTTP errors the page reports on purpose (the 403 below) are not problems of the page itself.
    page.on('console', (message) => {
      if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) problems.push(message.text())
    })
    page.on('pageerror', (error) => problems.push(error.message))

    await page.goto(`${url}/docs/`)
    await page.locator('.btn.authorize').click()
    await page.locator('#oauth_username').fill('admin')
    await page.locator('#oauth_password').fill(ADMIN_PASSWORD)
    await page.locator('label[for="users:read-password-checkbox-oauth2"]').click()
    const oauth = page.locator('.auth-container').first()
    await oauth.locator('.auth-btn-wrapper .authorize').click()
    await oauth.getByText('Logout').waitFor({ timeout: 15_000 })
    t.ok((await oauth.getByText('Authorized').count()) > 0, 'logged in with the password flow')
    await oauth.locator('.btn-done').click()

    t.equal(await execute(page, 'get', '/users/me'), '200')
    t.equal(await execute(page, 'get', '/users'), '200', 'users:read was selected')
    t.equal(await execute(page, 'post', '/users'), '403', 'users:write was not')

    const folder = new URL('../../.tap/browser/', import.meta.url)
    await mkdir(folder, { recursive: true })
    await page.screenshot({ path: new URL('swagger-ui.png', folder).pathname, fullPage: true })
    t.same(problems, [], 'no script error, no blocked script or style (the page runs under its CSP)')
  }
)
