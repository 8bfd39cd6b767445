import t from 'tap'
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js'
import { schemesApp, NOW } from '../helpers/schemes.js'
import { mcpAuthInfo } from '../../plugins/index.js'
import { proofKey } from '../helpers/dpop.js'
import { claims, forge } from '../helpers/jwt.js'
import { SECRET } from '../helpers/keys.js'

// request.auth as the MCP SDK's AuthInfo (req.auth for its server transport, extra.authInfo in tools).

t.test('a token\'s caller: the token, its client, scopes, expiry and resource, as the SDK types them', async (t) => {
  const { app, token, readKey } = await schemesApp()
  // Assigned to the SDK's own type: the compiler checks the shapes agree.
  app.get('/info', { schema: { security: [{ oauth2: [] }, { apiKey: [] }, {}] } }, async (request) => {
    const info: AuthInfo | undefined = mcpAuthInfo(request)
    return info === undefined ? { anonymous: true } : { ...info, resource: info.resource?.href, extra: { ...info.extra, claims: undefined } }
  })
  await app.ready()
  const exp = NOW / 1000 + 900
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ['client_id (RFC 9068)', { client_id: 'agent-7', azp: 'other' }, 'agent-7'],
    ['azp when there is no client_id', { azp: 'spa' }, 'spa'],
    ['the subject when neither is there', {}, 'user-1']
  ]
  for (const [what, extra, clientId] of cases) {
    const bearer = token(['users:read'], extra)
    const res = await app.inject({ url: '/info', headers: { authorization: `Bearer ${bearer}` } })
    t.same(res.json(), {
      token: bearer,
      clientId,
      scopes: ['users:read'],
      expiresAt: exp,
      resource: 'https://api.test/',
      extra: { scheme: 'oauth2', subject: 'user-1' }
    }, what)
  }

  const key = await app.inject({ url: '/info', headers: { 'x-api-key': readKey } })
  const expected = { token: '', clientId: 'key-read', scopes: ['users:read'], extra: { scheme: 'apiKey', subject: 'svc-reader' } }
  t.same(key.json(), expected, 'an API key: no token to pass on')
  t.same((await app.inject({ url: '/info' })).json(), { anonymous: true })
})

t.test('a DPoP-bound token is the token of the DPoP header, and its claims reach the tools', async (t) => {
  const { app } = await schemesApp({ clock: Date.now, bearer: { dpop: true, audience: 'urn:warden:api' } })
  let seen: AuthInfo | undefined
  app.get('/info', { schema: { security: [{ oauth2: [] }] } }, async (request) => {
    seen = mcpAuthInfo(request)
    return 'ok'
  })
  await app.ready()
  const key = await proofKey()
  const bound = app.accessTokens.sign({ sub: 'user-2', cnf: { jkt: key.jkt } }).token
  const res = await app.inject({
    url: '/info',
    headers: { authorization: `DPoP ${bound}`, dpop: await key.proof({ htm: 'GET', htu: 'http://localhost:80/info', token: bound }) }
  })
  t.equal(res.statusCode, 200)
  t.equal(seen?.token, bound)
  t.equal(seen?.resource, undefined, 'an audience that is no URL is no RFC 8707 resource')
  t.match(seen?.extra, { claims: { sub: 'user-2', cnf: { jkt: key.jkt } } })
})

t.test('the token is the one oauth2Bearer verified, never another header of the request; the resource is the one this server is', async (t) => {
  const { app, token } = await schemesApp()
  // A scheme of the app's own that sets claims (a session cookie), tried before the bearer scheme.
  app.warden.addScheme({
    name: 'session',
    scopes: new Set(),
    openapi: { type: 'apiKey', in: 'cookie', name: 'sid' },
    challenge: app.warden.challenge('Session', [['realm', 'api']], true),
    authenticate: (request) => request.headers.cookie === 'sid=1' ? { scheme: 'session', subject: 's-1', scopes: [], claims: { sub: 's-1', aud: 'https://api.test' } } : null
  })
  let seen: Array<AuthInfo | undefined> = []
  app.get('/info', { schema: { security: [{ session: [] }, { oauth2: [] }] } }, async (request) => {
    seen = [mcpAuthInfo(request), mcpAuthInfo(request, { resource: 'https://api.test' })]
    return 'ok'
  })
  await app.ready()
  await app.inject({ url: '/info', headers: { cookie: 'sid=1', authorization: 'Bearer chosen-by-the-caller' } })
  t.equal(seen[0]?.token, '', 'the session let the caller in: no token of the Authorization header is passed on')

  const one = token()
  await app.inject({ url: '/info', headers: { authorization: `Bearer ${one}` } })
  t.equal(seen[0]?.token, one)
  t.equal(seen[0]?.resource?.href, 'https://api.test/', 'one URL audience: that one')

  // A token for this server and another: which one this server is, only the app can say.
  const both = forge({ alg: 'HS256', typ: 'at+jwt' }, claims(NOW, { aud: ['https://other.test/', 'https://api.test'] }), SECRET)
  await app.inject({ url: '/info', headers: { authorization: `Bearer ${both}` } })
  t.equal(seen[0]?.token, both)
  t.equal(seen[0]?.resource, undefined, 'two URL audiences, none given: none guessed')
  t.equal(seen[1]?.resource?.href, 'https://api.test/', 'the resource given, the token being for it')
  t.equal(seen[0]?.clientId, 'user-1')
})
