import t from 'tap'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startServer as start } from './helpers/server.js'

const form = (fields: Record<string, string>): RequestInit => ({
  method: 'POST',
  body: new URLSearchParams(fields).toString(),
  headers: { 'content-type': 'application/x-www-form-urlencoded' }
})

t.test('npm start: embedded database, bootstrap admin printed once, data and dev secrets survive a restart', async (t) => {
  const dataDir = join(mkdtempSync(join(tmpdir(), 'warden-data-')), 'data')
  const first = await start({ DATA_DIR: dataDir })
  const password = /created administrator 'admin' with password\n\n\s+(\S+)/.exec(first.output())?.[1]
  t.ok(password, 'the generated password is printed')
  t.match(first.output(), /JWT_SECRET_KEY is not set: generated a development secret/)
  t.notMatch(
    first
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .join('\n'),
    password!,
    'never in a log line'
  )
  t.match(await (await fetch(`${first.url}/health`)).json(), { status: 'ok', database: 'ok', load: { password_checks_running: 0 } })
  t.equal((await fetch(`${first.url}/docs/`)).status, 200)
  const tokens = (await (await fetch(`${first.url}/auth/token`, form({ grant_type: 'password', username: 'admin', password: password! }))).json()) as {
    access_token: string
  }
  const key = (await (
    await fetch(`${first.url}/api-keys`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens.access_token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'restart', scopes: ['users:read'] })
    })
  ).json()) as { key: string }
  first.child.kill('SIGTERM')
  t.equal(await first.exited, 0, 'a clean shutdown on SIGTERM')

  const second = await start({ DATA_DIR: dataDir })
  t.teardown(() => {
    second.child.kill('SIGTERM')
  })
  t.notMatch(second.output(), /created administrator/, 'no second admin, no second password')
  const again = await fetch(`${second.url}/auth/token`, form({ grant_type: 'password', username: 'admin', password: password! }))
  t.equal(again.status, 200, 'the user was kept')
  t.equal((await fetch(`${second.url}/users`, { headers: { 'x-api-key': key.key } })).status, 200, 'the API key still verifies: its HMAC secret was kept')
})

t.test('invalid configuration stops start-up with a message naming the variable', async (t) => {
  await t.rejects(start({ PORT: 'eighty', DATA_DIR: 'memory://' }), /server exited with 78: configuration error: PORT: must be integer/)
  await t.rejects(start({ ENVIRONMENT: 'production', DATA_DIR: 'memory://' }), /configuration error: JWT_SECRET_KEY: is required in production/)
})
