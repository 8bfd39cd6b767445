import t from 'tap'
import Fastify from 'fastify'
import { generateKeyPairSync, type JsonWebKey } from 'node:crypto'
import { decodeJwt, decodeProtectedHeader } from 'jose'
import { RESOURCE as AUDIENCE, ecKey, serviceClient, startProvider, type ProviderOptions } from '../helpers/oidc-provider.js'
import { forge } from '../helpers/jwt.js'
import { plugins } from '../helpers/subject.js'
import { freePort } from '../helpers/services.js'

// Three real OpenID providers (panva's oidc-provider, in-process on 127.0.0.1), each as a team
// runs one: a workforce provider signing ES256 with scopes in `scope`, found by discovery; a
// customer provider signing PS256 that puts scopes in `scp` (as Entra ID and Okta do), given by
// its JWKS URL; a partner provider signing EdDSA that grants roles, mapped to scopes. One
// oauth2Bearer scheme accepts the three, each with its own policy.
const { warden, oauth2Bearer, openapi } = plugins
const SCOPES = { 'users:read': 'Read users', 'users:write': 'Write users' }
const SECRET = 'a-client-secret-long-enough-for-the-provider'
const ROLES: Record<string, string[]> = { reader: ['users:read'], editor: ['users:read', 'users:write'] }

const client = serviceClient('reports', SECRET, 'users:read users:write')
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
const ed = generateKeyPairSync('ed25519')
const privateJwk = (key: typeof rsa.privateKey, kid: string, alg: string): JsonWebKey => ({ ...key.export({ format: 'jwk' }), kid, alg, use: 'sig' })
const workforceKey = ecKey('w1')

const providers: Record<'workforce' | 'customers' | 'partners', Omit<ProviderOptions, 'clients'>> = {
  workforce: { keys: [workforceKey.jwk], scopes: ['users:read', 'users:write'] },
  customers: {
    keys: [privateJwk(rsa.privateKey, 'c1', 'PS256')],
    scopes: ['users:read', 'users:write'],
    accessTokenAlg: 'PS256',
    accessTokenPayload: (payload) => {
      if (typeof payload.scope === 'string') payload.scp = payload.scope.split(' ')
      delete payload.scope
    }
  },
  partners: {
    keys: [privateJwk(ed.privateKey, 'p1', 'EdDSA')],
    scopes: ['users:read', 'users:write'],
    accessTokenAlg: 'EdDSA',
    extraTokenClaims: () => ({ roles: ['reader'] })
  }
}

async function clientCredentialsToken (issuer: string, scope?: string): Promise<string> {
  const res = await fetch(`${issuer}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: 'Basic ' + Buffer.from(`reports:${SECRET}`).toString('base64') },
    body: new URLSearchParams({ grant_type: 'client_credentials', ...(scope === undefined ? {} : { scope }) }).toString()
  })
  const body = (await res.json()) as { access_token: string }
  if (res.status !== 200) throw new Error(`token endpoint: ${res.status} ${JSON.stringify(body)}`)
  return body.access_token
}

t.test('three real providers, three algorithms, three ways to carry scopes, one scheme; one provider going down mid-test', async (t) => {
  const names = ['workforce', 'customers', 'partners'] as const
  const ports = await Promise.all(names.map(async () => await freePort()))
  const [workforce, customers, partners] = ports.map((port) => `http://127.0.0.1:${port}`)
  const start = async (i: number) => {
    const options = providers[names[i]]
    // Its clients' ID tokens in an algorithm its one key signs.
    return await startProvider(ports[i], { ...options, clients: [{ ...client, id_token_signed_response_alg: options.accessTokenAlg ?? 'ES256' }] })
  }
  const stops = await Promise.all(names.map(async (_n, i) => await start(i)))
  t.teardown(async () => { await Promise.all(stops.map(async (stop) => await stop().catch(() => undefined))) })

  async function resourceServer () {
    let skew = 0
    const lines: Array<Record<string, unknown>> = []
    const app = Fastify({ logger: { level: 'warn', stream: { write: (line: string) => { lines.push(JSON.parse(line)) } } } })
    await app.register(warden, { scopes: SCOPES })
    await app.register(openapi, { routePrefix: false })
    await app.register(oauth2Bearer, {
      issuers: [
        { issuer: workforce, discovery: true, audience: AUDIENCE, algorithms: ['ES256'] },
        { issuer: customers, jwksUrl: `${customers}/jwks`, audience: AUDIENCE, algorithms: ['PS256'] },
        {
          issuer: partners,
          discovery: true,
          audience: AUDIENCE,
          claimScopes: (claims) => (Array.isArray(claims.roles) ? claims.roles.flatMap((role) => ROLES[role as string] ?? []) : [])
        }
      ],
      now: () => Date.now() + skew
    })
    app.get('/reports', { schema: { security: [{ oauth2: ['users:read'] }] } }, async ({ auth }) => ({ iss: auth.claims?.iss, scopes: auth.scopes }))
    app.post('/reports', { schema: { security: [{ oauth2: ['users:write'] }] } }, async () => 'written')
    await app.ready()
    t.teardown(() => app.close())
    const call = async (token: string, method: 'GET' | 'POST' = 'GET') =>
      await app.inject({ method, url: '/reports', headers: { authorization: `Bearer ${token}` } })
    return { app, call, lines, tick: (ms: number) => { skew += ms } }
  }

  const rs = await resourceServer()
  const tokens = {
    workforce: await clientCredentialsToken(workforce, 'users:read'),
    customers: await clientCredentialsToken(customers, 'users:read users:write'),
    partners: await clientCredentialsToken(partners)
  }
  t.same(names.map((n) => decodeProtectedHeader(tokens[n]).alg), ['ES256', 'PS256', 'EdDSA'], 'three signing algorithms')
  t.match(decodeJwt(tokens.customers), { scp: ['users:read', 'users:write'], scope: undefined }, 'the customer provider puts scopes in scp')
  t.match(decodeJwt(tokens.partners), { roles: ['reader'], scope: undefined }, 'the partner provider grants roles, no scope')

  t.same((await rs.call(tokens.workforce)).json(), { iss: workforce, scopes: ['users:read'] })
  t.same((await rs.call(tokens.customers)).json(), { iss: customers, scopes: ['users:read', 'users:write'] })
  t.same((await rs.call(tokens.partners)).json(), { iss: partners, scopes: ['users:read'] }, 'roles mapped to scopes by the partners\' claimScopes')
  const writes = await Promise.all(names.map(async (n) => await rs.call(tokens[n], 'POST')))
  t.same(writes.map((r) => r.statusCode), [403, 200, 403], 'users:write: only the customer token has it')

  // Crossing issuers: a token naming one provider must be signed by that provider's key.
  const claims = { ...decodeJwt(tokens.workforce) }
  const crossed = [
    forge({ alg: 'ES256', typ: 'at+jwt', kid: 'w1' }, { ...claims, iss: customers }, workforceKey.privateKey),
    forge({ alg: 'ES256', typ: 'at+jwt', kid: 'w1' }, { ...claims, iss: partners }, workforceKey.privateKey),
    forge({ alg: 'ES256', typ: 'at+jwt', kid: 'w1' }, { ...claims, iss: 'http://127.0.0.1:1' }, workforceKey.privateKey),
    forge({ alg: 'PS256', typ: 'at+jwt', kid: 'c1' }, { ...claims, iss: workforce }, rsa.privateKey)
  ]
  for (const token of crossed) {
    const res = await rs.call(token)
    t.equal(res.statusCode, 401)
    t.match(res.headers['www-authenticate'], /error="invalid_token"/)
  }

  type Doc = { components: { securitySchemes: Record<string, Record<string, unknown>> }, paths: Record<string, Record<string, { security: unknown }>> }
  const doc = rs.app.swagger() as unknown as Doc
  const shown = (issuer: string) => `oauth2.${issuer.replace('http://', '').replace(':', '_')}`
  t.match(doc.components.securitySchemes[shown(workforce)], {
    type: 'openIdConnect', openIdConnectUrl: `${workforce}/.well-known/openid-configuration`, 'x-issuer': workforce
  })
  t.match(doc.components.securitySchemes[shown(customers)], { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', 'x-issuer': customers })
  t.same(doc.paths['/reports'].get.security, [workforce, customers, partners].map((i) => ({ [shown(i)]: ['users:read'] })))

  // The customer provider goes down.
  await stops[1]()
  t.equal((await rs.call(tokens.customers)).statusCode, 200, 'a server that has its keys keeps them through the outage')
  const late = await resourceServer()
  t.match(late.lines.find((l) => l.issuer === customers), { msg: 'the provider\'s keys could not be fetched at start-up' })
  const down = await late.call(tokens.customers)
  t.equal(down.statusCode, 503, 'a server that never got its keys: 503 for its tokens')
  t.ok(down.headers['retry-after'])
  const others = await Promise.all([late.call(tokens.workforce), late.call(tokens.partners)])
  t.same(others.map((r) => r.statusCode), [200, 200], 'the others keep working')

  stops[1] = await start(1)
  late.tick(31_000)
  t.same((await late.call(tokens.customers)).json(), { iss: customers, scopes: ['users:read', 'users:write'] }, 'back after its cooldown')
})
