import t from 'tap'
import { schemesApp } from '../helpers/schemes.js'
import type { WardenClaims } from '../../plugins/index.js'

t.test('isRevoked refuses a revoked jti, on every request, cached or not', async (t) => {
  for (const cache of [false, { max: 100 }] as const) {
    const revoked = new Set<string>()
    const seen: string[] = []
    const { app } = await schemesApp({
      bearer: {
        cache,
        isRevoked: (claims: WardenClaims) => {
          seen.push(claims.jti as string)
          return revoked.has(claims.jti as string)
        }
      }
    })
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
