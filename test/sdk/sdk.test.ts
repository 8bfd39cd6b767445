import t from 'tap'
import { readFile } from 'node:fs/promises'
import { sdkTypes } from '../../scripts/sdk-types.js'
import { referenceApp, ADMIN_PASSWORD } from '../helpers/reference-app.js'
import { closeSharedDatabase } from '../helpers/services.js'
import { identityClient, type Problem } from './client.js'

t.teardown(closeSharedDatabase)

t.test('the committed SDK types are what openapi-typescript makes of openapi.yaml (npm run sdk:types)', async (t) => {
  t.equal(await readFile(new URL('./openapi.d.ts', import.meta.url), 'utf8'), await sdkTypes())
})

t.test('a typed openapi-fetch client works against the live server, errors included', async (t) => {
  const { app } = await referenceApp(t)
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address() as { port: number }
  const api = identityClient(`http://127.0.0.1:${address.port}`)

  const refused = await api.login('admin', 'wrong password')
  t.equal(refused.response.status, 400)
  t.equal(refused.error?.error, 'invalid_grant')

  const { data: tokens } = await api.login('admin', ADMIN_PASSWORD, 'users:read')
  t.ok(tokens)
  const me = await api.me(tokens!.access_token)
  t.equal(me.data?.username, 'admin')

  const unauthorized = await api.me('not-a-token')
  t.equal(unauthorized.response.status, 401)
  const problem: Problem | undefined = unauthorized.error
  t.match(problem, { type: 'about:blank', status: 401, title: 'Unauthorized' })

  const created = await api.createKey(tokens!.access_token, 'sdk', ['users:read'])
  t.equal(created.response.status, 201)
  const key = created.data!
  t.equal((await api.meWithKey(key.key)).data?.username, 'admin')
  const revoked = await api.revokeKey(tokens!.access_token, key.id)
  t.equal(revoked.response.status, 204)
  const after = await api.meWithKey(key.key)
  t.equal(after.response.status, 401)
  t.equal(after.error?.status, 401)

  const { data: weak } = await api.login('admin', ADMIN_PASSWORD, 'admin')
  const forbidden = await api.users(weak!.access_token)
  t.equal(forbidden.response.status, 403)
  t.equal(forbidden.error?.title, 'Forbidden')
})
