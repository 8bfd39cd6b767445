import t from 'tap'
import Fastify from 'fastify'
import * as oauth from 'oauth4webapi'
import { RESOURCE, ecKey, serviceClient, startProvider } from '../helpers/oidc-provider.js'
import { plugins } from '../helpers/subject.js'
import { freePort } from '../helpers/services.js'
import { challengeOf, claimsOf, insecure, recording, remapEd25519, sendingProof } from '../conformance/oauth4webapi-client.js'

// RFC 9449 across two implementations we did not write: panva's oidc-provider issues JWT access
// tokens bound to the client's key (cnf.jkt) for our API, oauth4webapi is the client, and
// oauth2Bearer in resource-server mode takes them only with a fresh proof of that key. Both
// servers ask for DPoP nonces, so the client keeps one per origin.
const { warden, oauth2Bearer } = plugins
const SECRET = 'a-client-secret-long-enough-for-the-provider'
const client: oauth.Client = { client_id: 'reports' }

const [providerPort, apiPort] = [await freePort(), await freePort()]
const issuer = `http://127.0.0.1:${providerPort}`
const api = `http://127.0.0.1:${apiPort}`
t.teardown(
  await startProvider(providerPort, {
    keys: [ecKey('k1').jwk],
    scopes: ['users:read'],
    dpopNonce: true,
    clients: [serviceClient('reports', SECRET, 'users:read')]
  })
)

const app = Fastify()
await app.register(warden, { scopes: { 'users:read': 'Read users' } })
await app.register(oauth2Bearer, { discovery: true, issuer, audience: RESOURCE, dpop: { nonce: true } })
app.get('/reports', { schema: { security: [{ oauth2: ['users:read'] }] } }, async (request) => ({
  subject: request.auth.subject,
  jkt: (request.auth.claims?.cnf as { jkt?: string } | undefined)?.jkt
}))
await app.listen({ port: apiPort, host: '127.0.0.1' })
t.teardown(() => app.close())

const as = await oauth.processDiscoveryResponse(new URL(issuer), await oauth.discoveryRequest(new URL(issuer), insecure))
const reports = new URL(`${api}/reports`)

/** A client-credentials token from the provider, bound to `DPoP`'s key; oauth4webapi retries once on a nonce error, as its docs show. */
async function boundToken (DPoP: oauth.DPoPHandle): Promise<{ token: string, nonceAsked: boolean }> {
  const request = async () =>
    await oauth.processClientCredentialsResponse(
      as,
      client,
      await oauth.clientCredentialsGrantRequest(as, client, oauth.ClientSecretPost(SECRET), { scope: 'users:read', resource: RESOURCE }, { DPoP, ...insecure })
    )
  const first = await request().catch((err: unknown) => {
    if (oauth.isDPoPNonceError(err)) return undefined
    throw err
  })
  const tokens = first ?? await request()
  if (tokens.token_type !== 'dpop') throw new Error(`a ${tokens.token_type} token`)
  return { token: tokens.access_token, nonceAsked: first === undefined }
}

const call = async (token: string, options: oauth.ProtectedResourceRequestOptions) =>
  await oauth.protectedResourceRequest(token, 'GET', reports, undefined, undefined, { ...insecure, ...options })

t.test("the provider's DPoP-bound token at our API: accepted with a proof of its key, after each server's nonce", async (t) => {
  const DPoP = oauth.DPoP(client, await oauth.generateKeyPair('ES256'))
  const jkt = await DPoP.calculateThumbprint()
  const { token, nonceAsked } = await boundToken(DPoP)
  t.ok(nonceAsked, 'the provider asked for its nonce first (use_dpop_nonce), oauth4webapi retried with it')
  t.match(claimsOf(token), { iss: issuer, aud: RESOURCE, client_id: 'reports', cnf: { jkt } }, 'RFC 9068 JWT, bound to the client key (cnf.jkt)')

  // Our API has nonces of its own: the nonce oauth4webapi holds is the provider's, for its origin only.
  const first = await challengeOf(call(token, { DPoP }))
  t.ok(oauth.isDPoPNonceError(first.err), 'our use_dpop_nonce, recognised by the client')
  t.match([first.status, first.schemes.dpop], [401, { error: 'use_dpop_nonce' }])
  for (let i = 0; i < 3; i++) {
    const res = await call(token, { DPoP })
    t.same([res.status, await res.json()], [200, { subject: 'reports', jkt }], `call ${i + 1}: accepted with our nonce`)
  }
})

t.test("the provider's bound token without its key, or with a replayed proof: refused", async (t) => {
  const keyPair = await oauth.generateKeyPair('ES256')
  const DPoP = oauth.DPoP(client, keyPair)
  const { token } = await boundToken(DPoP)
  await call(token, { DPoP }).catch(() => undefined) // our nonce, for this key's handle

  const asBearer = await challengeOf(call(token, {}))
  t.same([asBearer.status, asBearer.schemes.bearer?.error], [401, 'invalid_token'], 'sent as Bearer: invalid_token')

  const thief = oauth.DPoP(client, await oauth.generateKeyPair('ES256'))
  await call(token, { DPoP: thief }).catch(() => undefined)
  const stolen = await challengeOf(call(token, { DPoP: thief }))
  t.same([stolen.status, stolen.schemes.dpop?.error], [401, 'invalid_dpop_proof'], "with a proof of the thief's key, nonce and all: invalid_dpop_proof")

  const sent: Array<Record<string, string>> = []
  t.equal((await call(token, recording(DPoP, sent))).status, 200)
  const replayed = await challengeOf(call(token, sendingProof(DPoP, sent[0].dpop)))
  t.same([replayed.status, replayed.schemes.dpop?.error], [401, 'invalid_dpop_proof'], 'the same proof again: a replay')
  t.equal((await call(token, { DPoP })).status, 200, 'the owner, with a fresh proof, is still served')
})

t.test('an Ed25519 key: the provider binds it (alg Ed25519), our API takes the proofs too', async (t) => {
  t.ok(as.dpop_signing_alg_values_supported?.includes('Ed25519'), 'the provider announces Ed25519 for DPoP')
  const keyPair = await oauth.generateKeyPair('Ed25519')
  const DPoP = oauth.DPoP(client, keyPair)
  const { token } = await boundToken(DPoP)
  t.match(claimsOf(token), { cnf: { jkt: await DPoP.calculateThumbprint() } })
  await call(token, { DPoP }).catch(() => undefined)
  t.equal((await call(token, { DPoP })).status, 200, 'a proof with alg Ed25519 (RFC 9864 §2.2) is accepted')

  const remapped = oauth.DPoP(client, keyPair, remapEd25519)
  await call(token, { DPoP: remapped }).catch(() => undefined)
  t.equal((await call(token, { DPoP: remapped })).status, 200, "with oauth4webapi's remapping to EdDSA, the same key is accepted")
})
