import t from 'tap'
import { checkSecurityContract } from '../../plugins/index.js'
import { schemesApp } from '../helpers/schemes.js'
import { referenceApp } from '../helpers/reference-app.js'
import { closeSharedDatabase } from '../helpers/services.js'

t.teardown(closeSharedDatabase)

t.test('the reference API enforces exactly what openapi.yaml documents', async (t) => {
  const { app, stores, createUser } = await referenceApp(t)
  const admin = (await stores.users.findByUsername('admin'))!
  await createUser('nobody-special', 'user', 'plain user password 1')
  const findings = await checkSecurityContract(app, {
    credentials: {
      oauth2: (scopes) => ({ authorization: `Bearer ${app.accessTokens.sign({ sub: admin.id, scope: scopes }).token}` }),
      apiKey: async (scopes) => {
        const issued = app.apiKeys.issue()
        await stores.apiKeys.create({ subject: admin.id, name: 'contract', prefix: issued.prefix, digest: issued.digest, scopes, expiresAt: null })
        return { 'x-api-key': issued.key }
      },
      // Basic grants the role's scopes: a plain user has none.
      basic: () => ({ authorization: 'Basic ' + Buffer.from('nobody-special:plain user password 1').toString('base64') })
    }
  })
  t.same(findings, [])
  t.ok(app.warden.routes.length > 15, 'every route was walked')
})

t.test('a bypass that answers before authentication is reported', async (t) => {
  const { app, token } = await schemesApp()
  // A "debug" shortcut that skips authentication for one path: the kind of drift the check finds.
  app.addHook('onRequest', async (request, reply) => { if (request.url === '/reports') return await reply.send({ debug: true }) })
  app.get('/reports', { schema: { security: [{ oauth2: ['admin'] }] } }, async () => ({ secret: true }))
  app.get('/users', { schema: { security: [{ oauth2: ['users:read'] }] } }, async () => [])
  app.get('/public', { schema: { security: [] } }, async () => 'ok')
  await app.ready()
  const findings = await checkSecurityContract(app, { credentials: { oauth2: (scopes) => ({ authorization: `Bearer ${token(scopes)}` }) } })
  t.same(findings.map((f) => [f.operation, f.case, f.expected, f.actual, f.documented]), [
    ['GET /reports', 'no credentials', 401, 200, true],
    ['GET /reports', 'invalid oauth2 credentials', 401, 200, true],
    ['GET /reports', 'oauth2 credentials without admin', 403, 200, true]
  ])
})
