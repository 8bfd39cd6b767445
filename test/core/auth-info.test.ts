import t from 'tap'
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js'
import { schemesApp, NOW } from '../helpers/schemes.js'
import { mcpAuthInfo } from '../../plugins/index.js'
import { proofKey } from '../helpers/dpop.js'

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
