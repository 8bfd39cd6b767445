import t from 'tap'
import { schemesApp, NOW } from '../helpers/schemes.js'

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
