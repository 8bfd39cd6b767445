import t from 'tap'
import { schemesApp, NOW } from '../helpers/app.js'
import type { WardenClaims } from '../../plugins/index.js'

t.test('isRevoked refuses a revoked jti, on every request, cached or not', async (t) => {
  for (const cache of [false, { max: 100 }] as const) {
    const revoked = new Set<string>()
    const seen: string[] = []
    const { app } = await schemesApp({ bearer: { cache, isRevoked: (claims: WardenClaims) => { seen.push(claims.jti as string); return revoked.has(claims.jti as string) } } })
    app.get('/r', { schema: { security: [{ oauth2: [] }] } }, async (req) => req.auth)
    await app.ready()
    const issued = app.accessTokens.sign({ sub: 'u' })
    const call = async () => await app.inject({ url: '/r', headers: { authorization: `Bearer ${issued.token}` } })
    t.equal((await call()).statusCode, 200)
    t.equal((await call()).statusCode, 200)
    revoked.add(issued.jti)
    const res = await call()
    t.equal(res.statusCode, 401, `revoked (cache ${JSON.stringify(cache)})`)
    t.equal(res.headers['www-authenticate'], 'Bearer realm="api", error="invalid_token"')
    t.same(seen, [issued.jti, issued.jti, issued.jti])
  }
})

t.test('an asynchronous revocation check is awaited', async (t) => {
  const { app } = await schemesApp({ bearer: { isRevoked: async (claims: WardenClaims) => claims.sub === 'blocked' } })
  app.get('/r', { schema: { security: [{ oauth2: [] }] } }, async (req) => req.auth)
  await app.ready()
  const call = async (sub: string) => (await app.inject({ url: '/r', headers: { authorization: `Bearer ${app.accessTokens.sign({ sub }).token}` } })).statusCode
  t.equal(await call('fine'), 200)
  t.equal(await call('blocked'), 401)
})

t.test('a cached token still expires at exp + tolerance', async (t) => {
  let now = NOW
  const { app } = await schemesApp({ clock: () => now, bearer: { cache: { max: 10 } } })
  app.get('/r', { schema: { security: [{ oauth2: [] }] } }, async (req) => req.auth)
  await app.ready()
  const { token } = app.accessTokens.sign({ sub: 'u' }, { expiresIn: 60 })
  const call = async () => (await app.inject({ url: '/r', headers: { authorization: `Bearer ${token}` } })).statusCode
  t.equal(await call(), 200)
  now = NOW + 89_000
  t.equal(await call(), 200)
  now = NOW + 90_000
  t.equal(await call(), 401)
})

t.test('the cache is bounded and a hit returns the same principal', async (t) => {
  const { app } = await schemesApp({ bearer: { cache: { max: 2 } } })
  const principals: unknown[] = []
  app.get('/r', { schema: { security: [{ oauth2: [] }] } }, async (req) => { principals.push(req.auth); return req.auth })
  await app.ready()
  const tokens = ['a', 'b', 'c'].map((sub) => app.accessTokens.sign({ sub }).token)
  for (const token of [...tokens, tokens[2]]) {
    t.equal((await app.inject({ url: '/r', headers: { authorization: `Bearer ${token}` } })).statusCode, 200)
  }
  t.equal(principals[2], principals[3], 'cached principal reused')
  t.ok(Object.isFrozen(principals[2]), 'principals are frozen, so a handler cannot change what the next request sees')
})

t.test('cache option is validated', async (t) => {
  await t.rejects(schemesApp({ bearer: { cache: { max: 0 } } }), { code: 'WARDEN_ERR_OPTION', message: /cache.max/ })
})
