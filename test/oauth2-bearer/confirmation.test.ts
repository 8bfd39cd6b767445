import t from 'tap'
import { schemesApp } from '../helpers/schemes.js'

// boundKey() reads only `cnf.jkt`, and only when it is a string: any other confirmation (an
// RFC 8705 certificate-bound token, `cnf: { "x5t#S256": … }`, which providers such as Keycloak,
// Okta or Auth0 issue; a `cnf.jwk`; a malformed jkt) makes the token count as unbound, and it is
// accepted as a plain Bearer token. A token its issuer sender-constrained, stolen, works here
// without the key. RFC 7800 §3 / RFC 8705 §3: the presenter must be shown to hold the confirmed
// key; a resource server that cannot check a token's confirmation cannot accept it as bearer.

t.test('a token with a confirmation the resource server cannot check is not accepted as a bearer token', async (t) => {
  const fixture = await schemesApp({ clock: Date.now, bearer: { dpop: true } })
  const { app } = fixture
  app.get('/notes', { schema: { security: [{ oauth2: [] }] } }, async () => 'ok')
  app.get('/legacy', { schema: { security: [{ oauth2: [] }], 'x-dpop': 'off' } }, async () => 'ok')
  await app.ready()
  const confirmations = [
    { 'x5t#S256': 'bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2' },
    { jwk: { kty: 'EC', crv: 'P-256', x: 'x', y: 'y' } },
    { jkt: ['a'] },
    { jkt: 12 }
  ]
  for (const cnf of confirmations) {
    const token = fixture.token([], { cnf })
    for (const url of ['/notes', '/legacy']) {
      const res = await app.inject({ url, headers: { authorization: `Bearer ${token}` } })
      t.equal(res.statusCode, 401, `${url}: cnf ${JSON.stringify(cnf)} sent as Bearer (got ${res.statusCode})`)
    }
  }
})
