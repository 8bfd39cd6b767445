import t from 'tap'
import { schemesApp } from '../helpers/schemes.js'
import { proofKey } from '../helpers/dpop.js'

// requestUri() builds the origin `htu` is compared with from `request.host`: the Host header the
// client sent (or X-Forwarded-Host under trustProxy). Nothing states the server's own origin, so
// the origin half of the htu check compares the proof with itself. A proof (and its token) that
// reached another service of the same audience (api-a.example; a malicious or compromised one,
// or its logs) is accepted here, at api-b, by sending `Host: api-a.example`: RFC 9449 §4.3
// point 9 and §11.1 want the proof usable only at the URI it names. (With trustedHosts
// registered, only this server's names pass; without it, the default, any does.)
// Answer: `dpop.origin` names this API's origin, and the Host header no longer counts; without
// it the README and the option say to pair DPoP with trustedHosts, which refuses the Host.

t.test('a proof made for another origin is refused, whatever Host the request names', async (t) => {
  const fixture = await schemesApp({ clock: Date.now, bearer: { dpop: { origin: 'http://api-b.example' } } })
  const { app } = fixture
  app.get('/notes', { schema: { security: [{ oauth2: [] }] } }, async () => 'notes of api-b')
  await app.ready()
  const key = await proofKey()
  const bound = fixture.token([], { cnf: { jkt: key.jkt } })
  // The victim's request to api-a, captured there.
  const proof = await key.proof({ htm: 'GET', htu: 'http://api-a.example/notes', token: bound })
  const res = await app.inject({ url: '/notes', headers: { host: 'api-a.example', authorization: `DPoP ${bound}`, dpop: proof } })
  t.equal(res.statusCode, 401, `api-b refuses a proof made for api-a (got ${res.statusCode} ${res.body})`)
  const own = await key.proof({ htm: 'GET', htu: 'http://api-b.example/notes', token: bound })
  const ok = await app.inject({ url: '/notes', headers: { host: '10.0.0.7:3000', authorization: `DPoP ${bound}`, dpop: own } })
  t.equal(ok.statusCode, 200, 'a proof for this origin, whatever Host the proxy passed on')
})

t.test('dpop.origin must be an origin', async (t) => {
  for (const origin of ['api.example', 'https://api.example/', 'https://api.example/v1', 'ftp://api.example', 'https://api.example?x=1']) {
    await t.rejects(async () => await schemesApp({ bearer: { dpop: { origin } } }), { code: 'WARDEN_ERR_OPTION', message: /dpop.origin/ }, origin)
  }
})
