import t from 'tap'
import Fastify from 'fastify'
import * as oauth from 'oauth4webapi'
import type { KoaContextWithOIDC } from 'oidc-provider'
import { RESOURCE, authorize, ecKey, serviceClient, startProvider } from '../helpers/oidc-provider.js'
import { plugins } from '../helpers/subject.js'
import { freePort } from '../helpers/services.js'
import { challengeOf, claimsOf, insecure } from './oauth4webapi-client.js'

// RFC 9470 end to end with two implementations we did not write: a user signs in at panva's
// oidc-provider (authorization code, PKCE) through oauth4webapi; our API refuses a login too weak
// or too old for a route with `insufficient_user_authentication`, oauth4webapi reads what would do
// (acr_values, max_age), and the client signs in again asking for exactly that.
const { warden, oauth2Bearer } = plugins
const PASSWORD = 'urn:example:pwd'
const MFA = 'urn:example:mfa'
const STALE = 600
const SECRET = 'a-client-secret-long-enough-for-the-provider'

const [providerPort, apiPort] = [await freePort(), await freePort()]
const issuer = `http://127.0.0.1:${providerPort}`
const api = `http://127.0.0.1:${apiPort}`
const redirectUri = `${api}/callback`
const client: oauth.Client = { client_id: 'notes-web', id_token_signed_response_alg: 'ES256', require_auth_time: true }

/** The login's acr and auth_time, copied into the JWT access token (RFC 9068 §2.2.1), as oidc-provider leaves to its `extraTokenClaims`. */
function loginClaims (ctx: KoaContextWithOIDC): Record<string, unknown> | undefined {
  const code = ctx.oidc.entities.AuthorizationCode
  return code === undefined ? undefined : { acr: code.acr, auth_time: code.authTime }
}

t.teardown(
  await startProvider(providerPort, {
    keys: [ecKey('k1').jwk],
    scopes: ['openid', 'users:read'],
    acrValues: [PASSWORD, MFA],
    extraTokenClaims: loginClaims,
    // The user: a second factor when the client asks for it; a login remembered from 10 minutes
    // ago, unless the client asks for a recent one (max_age).
    signIn: (params) => ({
      accountId: 'ada',
      acr: String(params.acr_values ?? '').split(' ').includes(MFA) ? MFA : PASSWORD,
      ts: Math.floor(Date.now() / 1000) - (params.max_age === undefined ? STALE : 0)
    }),
    clients: [{
      client_id: 'notes-web',
      token_endpoint_auth_method: 'none',
      grant_types: ['authorization_code'],
      response_types: ['code'],
      redirect_uris: [redirectUri],
      require_auth_time: true,
      scope: 'openid users:read'
    }, serviceClient('reports', SECRET, 'users:read')]
  })
)

const app = Fastify()
await app.register(warden, { scopes: { 'users:read': 'Read users' } })
await app.register(oauth2Bearer, { discovery: true, issuer, audience: RESOURCE, dpop: true })
app.get('/profile', { schema: { security: [{ oauth2: ['users:read'] }] } }, async (request) => ({ subject: request.auth.subject }))
app.post('/transfers', { schema: { security: [{ oauth2: ['users:read'] }], 'x-step-up': { acr_values: [MFA], max_age: 300 } } }, async (request) => ({
  acr: request.auth.claims?.acr
}))
await app.listen({ port: apiPort, host: '127.0.0.1' })
t.teardown(() => app.close())

const as = await oauth.processDiscoveryResponse(new URL(issuer), await oauth.discoveryRequest(new URL(issuer), insecure))

/** A sign-in through oauth4webapi: the authorization request with `extra` (acr_values, max_age), the code for tokens, the ID token checked. */
async function signIn (extra: Record<string, string> = {}, DPoP?: oauth.DPoPHandle) {
  const options = { ...insecure, ...(DPoP === undefined ? {} : { DPoP }) }
  const verifier = oauth.generateRandomCodeVerifier()
  const url = new URL(as.authorization_endpoint!)
  url.search = new URLSearchParams({
    client_id: client.client_id,
    redirect_uri: redirectUri,
    response_type: 'code',
    scope: 'openid users:read',
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    ...extra
  }).toString()
  const params = oauth.validateAuthResponse(as, client, await authorize(url, redirectUri))
  const response = await oauth.authorizationCodeGrantRequest(as, client, oauth.None(), params, redirectUri, verifier, options)
  // With max_age asked, oauth4webapi checks the ID token's auth_time against it.
  const tokens = await oauth.processAuthorizationCodeResponse(as, client, response, extra.max_age === undefined ? {} : { maxAge: Number(extra.max_age) })
  return { token: tokens.access_token, type: tokens.token_type, idToken: oauth.getValidatedIdTokenClaims(tokens)! }
}

const transfer = async (token: string, DPoP?: oauth.DPoPHandle) => {
  const options = { ...insecure, ...(DPoP === undefined ? {} : { DPoP }) }
  return await oauth.protectedResourceRequest(token, 'POST', new URL(`${api}/transfers`), undefined, undefined, options)
}

const weak = {
  realm: 'api',
  error: 'insufficient_user_authentication',
  error_description: 'A login with a stronger authentication method is required.',
  acr_values: MFA,
  max_age: '300',
  // The route's scopes, so a client that logs in again asks for those (RFC 6750 §3).
  scope: 'users:read'
}
const old = { ...weak, error_description: 'A more recent login is required.' }

t.test('a password login: served where no step-up is asked, refused with what would do where it is', async (t) => {
  const { token, idToken } = await signIn()
  t.match(claimsOf(token), { sub: 'ada', aud: RESOURCE, acr: PASSWORD, auth_time: idToken.auth_time }, "the token carries the login's acr and auth_time")
  t.ok(Date.now() / 1000 - idToken.auth_time! >= STALE, 'a login of 10 minutes ago, as the ID token says too')

  const profile = await oauth.protectedResourceRequest(token, 'GET', new URL(`${api}/profile`), undefined, undefined, insecure)
  t.same([profile.status, await profile.json()], [200, { subject: 'ada' }])

  const refused = await challengeOf(transfer(token))
  t.equal(refused.status, 401)
  t.same(refused.schemes.bearer, weak, 'oauth4webapi reads error, acr_values and max_age off the Bearer challenge')
  t.same(refused.schemes.dpop, { ...weak, algs: refused.schemes.dpop?.algs }, "and the same off the DPoP challenge (mode 'allowed')")

  // A token of no login at all (client credentials): no acr, no auth_time.
  const service = { client_id: 'reports' }
  const tokens = await oauth.processClientCredentialsResponse(
    as,
    service,
    await oauth.clientCredentialsGrantRequest(as, service, oauth.ClientSecretPost(SECRET), { scope: 'users:read' }, insecure)
  )
  t.notOk('acr' in claimsOf(tokens.access_token) || 'auth_time' in claimsOf(tokens.access_token))
  const none = await challengeOf(transfer(tokens.access_token))
  t.same([none.status, none.schemes.bearer], [401, weak], 'a token without acr: refused the same way')
})

t.test('the client follows the challenge: a second factor, then a recent login, then served', async (t) => {
  const { token } = await signIn()
  const challenge = (await challengeOf(transfer(token))).schemes.bearer!

  // acr_values from the challenge: the user adds a second factor, but the login is 10 minutes old.
  const stronger = await signIn({ acr_values: challenge.acr_values! })
  t.match(claimsOf(stronger.token), { acr: MFA, auth_time: stronger.idToken.auth_time })
  t.equal(stronger.idToken.acr, MFA, 'the ID token says so too')
  t.ok(Date.now() / 1000 - stronger.idToken.auth_time! >= STALE, 'a login of 10 minutes ago')
  const tooOld = await challengeOf(transfer(stronger.token))
  t.same([tooOld.status, tooOld.schemes.bearer], [401, old], 'refused: max_age, said again')

  // max_age too: the user signs in again now; oauth4webapi checks the ID token's auth_time against it.
  const fresh = await signIn({ acr_values: challenge.acr_values!, max_age: challenge.max_age! })
  t.equal(fresh.idToken.acr, MFA)
  const res = await transfer(fresh.token)
  t.same([res.status, await res.json()], [200, { acr: MFA }], 'the step-up route serves it')
})

t.test('a DPoP-bound token of a weak login: the proof holds, the login does not; both challenges say so', async (t) => {
  const DPoP = oauth.DPoP(client, await oauth.generateKeyPair('ES256'))
  const weakLogin = await signIn({}, DPoP)
  t.equal(weakLogin.type, 'dpop')
  t.match(claimsOf(weakLogin.token), { acr: PASSWORD, cnf: { jkt: await DPoP.calculateThumbprint() } })
  const refused = await challengeOf(transfer(weakLogin.token, DPoP))
  t.equal(refused.status, 401)
  t.same(Object.keys(refused.schemes), ['bearer', 'dpop'])
  t.same(refused.schemes.bearer, weak)
  t.match(refused.schemes.dpop, { ...weak, algs: /^ES256 / })

  const strong = await signIn({ acr_values: MFA, max_age: '300' }, DPoP)
  t.equal((await transfer(strong.token, DPoP)).status, 200, 'after the step-up, with a fresh proof')
  t.equal((await challengeOf(transfer(strong.token))).schemes.bearer?.error, 'invalid_token', 'and still not as Bearer')
})
