import t from 'tap'
import { schemesApp } from '../helpers/schemes.js'
import type { WardenClaims } from '../../plugins/index.js'

const USERS = new Map([
  ['u-1', { name: 'Ada', active: true }],
  ['u-2', { name: 'Bob', active: false }]
])

t.test('resolveUser: the current user of a bearer token, as get_current_user, on every request, cached tokens too', async (t) => {
  for (const cache of [false, { max: 100 }] as const) {
    const calls: string[] = []
    const { app } = await schemesApp({
      bearer: {
        cache,
        resolveUser: async (claims: WardenClaims) => {
          calls.push(claims.sub as string)
          const user = USERS.get(claims.sub as string)
          return user === undefined || !user.active ? null : { name: user.name }
        }
      }
    })
    app.get('/me', { schema: { security: [{ oauth2: [] }] } }, async (request) => ({ subject: request.auth.subject, user: request.auth.user }))
    await app.ready()
    const call = async (sub: string) => await app.inject({ url: '/me', headers: { authorization: `Bearer ${app.accessTokens.sign({ sub }).token}` } })
    const ada = await call('u-1')
    t.equal(ada.statusCode, 200)
    t.same(ada.json(), { subject: 'u-1', user: { name: 'Ada' } })
    const token = app.accessTokens.sign({ sub: 'u-1' }).token
    for (let i = 0; i < 2; i++) await app.inject({ url: '/me', headers: { authorization: `Bearer ${token}` } })
    const disabled = await call('u-2')
    t.equal(disabled.statusCode, 401, `a disabled account's token is refused (cache ${JSON.stringify(cache)})`)
    t.equal(disabled.headers['www-authenticate'], 'Bearer realm="api", error="invalid_token"')
    t.equal((await call('u-gone')).statusCode, 401, 'and so is a deleted one')
    t.same(calls, ['u-1', 'u-1', 'u-1', 'u-2', 'u-gone'], 'resolved for every request')
  }
})

t.test('a revoked token is refused before its user is looked up', async (t) => {
  const looked: string[] = []
  const { app } = await schemesApp({
    bearer: {
      isRevoked: () => true,
      resolveUser: (claims: WardenClaims) => {
        looked.push(claims.sub as string)
        return {}
      }
    }
  })
  app.get('/me', { schema: { security: [{ oauth2: [] }] } }, async () => 'ok')
  await app.ready()
  t.equal((await app.inject({ url: '/me', headers: { authorization: `Bearer ${app.accessTokens.sign({ sub: 'u-1' }).token}` } })).statusCode, 401)
  t.same(looked, [])
})

t.test('sign() refuses scopes the scheme does not declare and a scopes claim in place of scope', async (t) => {
  const { app } = await schemesApp({ bearer: { scopes: ['users:read'] } })
  t.throws(() => app.accessTokens.sign({ sub: 'u', scope: ['users:read', 'admin'] }), {
    code: 'WARDEN_ERR_SIGN',
    message: "cannot sign token: scope 'admin' is not one the 'oauth2' scheme grants"
  })
  t.throws(() => app.accessTokens.sign({ sub: 'u', scope: 'users:read root' }), { code: 'WARDEN_ERR_SIGN', message: /scope 'root'/ })
  t.throws(() => app.accessTokens.sign({ sub: 'u', scopes: ['users:read'] }), {
    code: 'WARDEN_ERR_SIGN',
    message: "cannot sign token: the claim is 'scope' (RFC 9068), a list or a space-separated string, not 'scopes'"
  })
  const claims = await app.accessTokens.verify(app.accessTokens.sign({ sub: 'u', scope: ' users:read  ' }).token)
  t.equal(claims.scope, 'users:read', 'a scope string is normalised')
})

t.test('a claims schema: tokens without a required claim are invalid_token, and sign() refuses them', async (t) => {
  const { Type } = await import('@sinclair/typebox')
  const Claims = Type.Object({ tenant_id: Type.String({ pattern: '^t-[0-9]+$' }) })
  const strict = await schemesApp({ bearer: { claims: Claims } })
  strict.app.get('/r', { schema: { security: [{ oauth2: [] }] } }, async (request) => request.auth.claims?.tenant_id)
  await strict.app.ready()
  const good = strict.app.accessTokens.sign({ sub: 'u', tenant_id: 't-1' }).token
  const ok = await strict.app.inject({ url: '/r', headers: { authorization: `Bearer ${good}` } })
  t.equal(ok.statusCode, 200)
  t.equal(ok.body, 't-1')
  t.throws(() => strict.app.accessTokens.sign({ sub: 'u' }), { code: 'WARDEN_ERR_SIGN', message: /claim 'tenant_id' expected required property/i })
  t.throws(() => strict.app.accessTokens.sign({ sub: 'u', tenant_id: 'acme' }), { code: 'WARDEN_ERR_SIGN', message: /claim 'tenant_id'/ })

  // Same key and issuer, no schema: the kind of token the strict scheme must refuse.
  const loose = await schemesApp()
  for (const extra of [{}, { tenant_id: 42 }, { tenant_id: 'acme' }]) {
    const token = loose.app.accessTokens.sign({ sub: 'u', ...extra } as never).token
    const res = await strict.app.inject({ url: '/r', headers: { authorization: `Bearer ${token}` } })
    t.equal(res.statusCode, 401, JSON.stringify(extra))
    t.equal(res.headers['www-authenticate'], 'Bearer realm="api", error="invalid_token"')
  }
  await t.rejects(schemesApp({ bearer: { claims: Type.String() as never } }), {
    code: 'WARDEN_ERR_OPTION',
    message: "option 'claims' must be an object schema (TypeBox Type.Object)"
  })
})
