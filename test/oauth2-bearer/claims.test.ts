import t from 'tap'
import { schemesApp, NOW } from '../helpers/schemes.js'
import { SECRET, ISSUER } from '../helpers/keys.js'
import { forge, claims } from '../helpers/jwt.js'
import { InvalidToken } from '../../plugins/index.js'

const HS = { alg: 'HS256', typ: 'at+jwt' }

async function clockApp (clockTolerance?: number) {
  let now = NOW
  const fixture = await schemesApp({ clock: () => now, bearer: clockTolerance === undefined ? {} : { clockTolerance } })
  fixture.app.get('/r', { schema: { security: [{ oauth2: [] }] } }, async (req) => req.auth)
  return {
    ...fixture,
    at: (ms: number) => {
      now = ms
    }
  }
}

t.test('exp is honoured with the clock tolerance (30 s by default)', async (t) => {
  const { app, at } = await clockApp()
  const token = forge(HS, claims(NOW, { exp: NOW / 1000 + 60 }), SECRET)
  const call = async () => (await app.inject({ url: '/r', headers: { authorization: `Bearer ${token}` } })).statusCode
  t.equal(await call(), 200)
  at(NOW + 89_000)
  t.equal(await call(), 200, 'within the tolerance after exp')
  at(NOW + 90_000)
  t.equal(await call(), 401, 'exp + tolerance reached')
})

t.test('nbf and iat allow the same leeway, and no more', async (t) => {
  const { app } = await clockApp(10)
  const call = async (extra: Record<string, unknown>) =>
    (await app.inject({ url: '/r', headers: { authorization: `Bearer ${forge(HS, claims(NOW, extra), SECRET)}` } })).statusCode
  t.equal(await call({ nbf: NOW / 1000 + 10 }), 200)
  t.equal(await call({ nbf: NOW / 1000 + 11 }), 401)
  t.equal(await call({ iat: NOW / 1000 + 10 }), 200)
  t.equal(await call({ iat: NOW / 1000 + 11 }), 401)
})

t.test('issued tokens are RFC 9068 access tokens', async (t) => {
  const { app } = await clockApp()
  await app.ready()
  const issued = app.accessTokens.sign({ sub: 'user-7', scope: ['users:read', 'admin'], role: 'admin' })
  const [header, payload] = issued.token
    .split('.')
    .slice(0, 2)
    .map((part) => JSON.parse(Buffer.from(part, 'base64url').toString()))
  t.same(header, { alg: 'HS256', typ: 'at+jwt' })
  t.same(payload, {
    iss: ISSUER,
    aud: 'https://api.test',
    sub: 'user-7',
    scope: 'users:read admin',
    role: 'admin',
    iat: NOW / 1000,
    exp: NOW / 1000 + 900,
    jti: issued.jti
  })
  t.same({ expiresIn: issued.expiresIn, expiresAt: issued.expiresAt }, { expiresIn: 900, expiresAt: NOW / 1000 + 900 })
  t.match(issued.jti, /^[0-9a-f-]{36}$/)
  t.not(app.accessTokens.sign({ sub: 'user-7' }).jti, issued.jti, 'every token has its own jti')
  t.equal(app.accessTokens.sign({ sub: 'u' }, { expiresIn: 60 }).expiresIn, 60)
  t.same(await app.accessTokens.verify(issued.token), payload, 'accessTokens.verify() checks like the scheme')
  await t.rejects(app.accessTokens.verify(issued.token + 'x'), new InvalidToken('bad signature', 'signature'))
})

t.test('the signer refuses claims it owns and a missing subject', async (t) => {
  const { app } = await clockApp()
  await app.ready()
  for (const claim of ['iss', 'aud', 'exp', 'iat', 'nbf', 'jti']) {
    t.throws(() => app.accessTokens.sign({ sub: 'u', [claim]: 1 }), { code: 'WARDEN_ERR_SIGN', message: `cannot sign token: '${claim}' is set by the signer` })
  }
  t.throws(() => app.accessTokens.sign({ sub: '' }), { code: 'WARDEN_ERR_SIGN' })
})

t.test('several issuers can be accepted; tokens are signed as the first', async (t) => {
  const { app } = await schemesApp({ bearer: { issuer: [ISSUER, 'https://old-id.test'] } })
  app.get('/r', { schema: { security: [{ oauth2: [] }] } }, async (req) => req.auth)
  const old = forge(HS, claims(NOW, { iss: 'https://old-id.test' }), SECRET)
  t.equal((await app.inject({ url: '/r', headers: { authorization: `Bearer ${old}` } })).statusCode, 200)
  t.equal(JSON.parse(Buffer.from(app.accessTokens.sign({ sub: 'u' }).token.split('.')[1], 'base64url').toString()).iss, ISSUER)
})

t.test('scopes come from `scope`, or from `scp` for providers that send a list', async (t) => {
  const { app } = await clockApp()
  app.get('/w', { schema: { security: [{ oauth2: ['users:write'] }] } }, async (req) => req.auth)
  const scp = forge(HS, claims(NOW, { scope: undefined, scp: ['users:write', 7] }), SECRET)
  const res = await app.inject({ url: '/w', headers: { authorization: `Bearer ${scp}` } })
  t.equal(res.statusCode, 200)
  t.same(res.json().scopes, ['users:write'])
})

t.test('request.user is free for the app, and no second verifier with other rules is exposed', async (t) => {
  const { app } = await schemesApp({ clock: Date.now })
  // Regression: the internal @fastify/jwt decorated request.user, so this threw FST_ERR_DEC_ALREADY_PRESENT.
  app.decorateRequest('user', null as never)
  app.addHook('preHandler', async (request) => {
    ;(request as unknown as { user: unknown }).user = { name: 'set by the app' }
  })
  app.get('/r', { schema: { security: [{ oauth2: [] }] } }, async (request) => ({
    user: (request as unknown as { user: unknown }).user,
    jwtVerify: typeof (request as unknown as Record<string, unknown>).jwtVerify
  }))
  await app.ready()
  t.notOk(app.hasDecorator('jwt'), 'no fastify.jwt with its own verify()')
  t.notOk(app.hasRequestDecorator('jwtVerify'), 'no request.jwtVerify() that skips typ and revocation')
  const { token } = app.accessTokens.sign({ sub: 'user-9', scope: 'users:read' })
  const res = await app.inject({ url: '/r', headers: { authorization: `Bearer ${token}` } })
  t.same(res.json(), { user: { name: 'set by the app' }, jwtVerify: 'undefined' })
})

t.test("an app's own @fastify/jwt, registered first, is left alone and does not know our tokens", async (t) => {
  const Fastify = (await import('fastify')).default
  const fastifyJwt = (await import('@fastify/jwt')).default
  const { warden, oauth2Bearer } = await import('../../plugins/index.js')
  const app = Fastify()
  await app.register(fastifyJwt, { secret: 'the app has its own secret for its own tokens' })
  await app.register(warden)
  await app.register(oauth2Bearer, { secret: SECRET, issuer: ISSUER, audience: 'https://api.test' })
  app.get('/r', { schema: { security: [{ oauth2: [] }] } }, async (req) => req.auth)
  await app.ready()
  const { token } = app.accessTokens.sign({ sub: 'u' })
  t.equal((await app.inject({ url: '/r', headers: { authorization: `Bearer ${token}` } })).statusCode, 200)
  t.throws(() => app.jwt.verify(token), "the app's own verifier does not know our key")
})
