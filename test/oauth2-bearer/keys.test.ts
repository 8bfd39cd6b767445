import t from 'tap'
import Fastify from 'fastify'
import { generateKeyPairSync, type KeyObject } from 'node:crypto'
import { warden, oauth2Bearer, type OAuth2BearerOptions } from '../../plugins/index.js'
import { SECRET, ISSUER, AUDIENCE } from '../helpers/keys.js'
import { forge, claims } from '../helpers/jwt.js'
import { SCOPES } from '../helpers/schemes.js'

const pem = (key: KeyObject): string => key.export({ type: 'pkcs8', format: 'pem' }) as string
const pairs = {
  EdDSA: generateKeyPairSync('ed25519'),
  ES256: generateKeyPairSync('ec', { namedCurve: 'P-256' }),
  RS256: generateKeyPairSync('rsa', { modulusLength: 2048 })
}

async function bearerApp (opts: Partial<OAuth2BearerOptions>) {
  const app = Fastify()
  await app.register(warden, { scopes: SCOPES })
  await app.register(oauth2Bearer, { issuer: ISSUER, audience: AUDIENCE, ...opts } as OAuth2BearerOptions)
  app.get('/r', { schema: { security: [{ oauth2: [] }] } }, async (req) => req.auth)
  await app.ready()
  const call = async (token: string) => (await app.inject({ url: '/r', headers: { authorization: `Bearer ${token}` } })).statusCode
  return { app, call }
}

for (const [alg, pair] of Object.entries(pairs)) {
  t.test(`${alg}: signs with the key's algorithm and kid, verifies, publishes the public key`, async (t) => {
    const { app, call } = await bearerApp({ signingKey: { kid: `${alg}-1`, privateKey: pem(pair.privateKey) } })
    const { token } = app.accessTokens.sign({ sub: 'u' })
    t.same(JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString()), { alg, typ: 'at+jwt', kid: `${alg}-1` })
    t.equal(await call(token), 200)
    t.equal(await call(forge({ alg: 'HS256', typ: 'at+jwt', kid: `${alg}-1` }, claims(Date.now()), SECRET)), 401, 'HS256 refused when keys are asymmetric')
    const jwks = await app.inject({ url: '/.well-known/jwks.json' })
    t.equal(jwks.statusCode, 200)
    t.equal(jwks.headers['cache-control'], 'public, max-age=300')
    const [jwk] = jwks.json().keys
    t.match(jwk, { kid: `${alg}-1`, alg, use: 'sig' })
    t.notOk('d' in jwk, 'no private part is published')
  })
}

const families: Array<[string, KeyObject]> = [
  ['RS384', pairs.RS256.privateKey],
  ['RS512', pairs.RS256.privateKey],
  ['PS256', pairs.RS256.privateKey],
  ['PS384', pairs.RS256.privateKey],
  ['PS512', pairs.RS256.privateKey],
  ['ES384', generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey],
  ['ES512', generateKeyPairSync('ec', { namedCurve: 'P-521' }).privateKey]
]
for (const [alg, privateKey] of families) {
  t.test(`${alg}: the algorithm option signs and verifies it, and only it`, async (t) => {
    const { app, call } = await bearerApp({ signingKey: { kid: alg, privateKey }, algorithm: alg as OAuth2BearerOptions['algorithm'] })
    const { token } = app.accessTokens.sign({ sub: 'u' })
    t.equal(JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString()).alg, alg)
    t.equal(await call(token), 200)
    t.match((await app.inject({ url: '/.well-known/jwks.json' })).json().keys, [{ kid: alg, alg }])
    if (alg.startsWith('PS')) {
      t.equal(
        await call(forge({ alg: 'RS256', typ: 'at+jwt', kid: alg }, claims(Date.now()), privateKey)),
        401,
        'the same RSA key with another algorithm is refused'
      )
    }
  })
}

t.test('kid rotation: old keys verify, only the current one signs', async (t) => {
  const old = generateKeyPairSync('ed25519')
  const { app, call } = await bearerApp({
    signingKey: { kid: 'k2', privateKey: pairs.EdDSA.privateKey },
    verificationKeys: [{ kid: 'k1', publicKey: old.publicKey.export({ type: 'spki', format: 'pem' }) }]
  })
  const oldToken = forge({ alg: 'EdDSA', typ: 'at+jwt', kid: 'k1' }, claims(Date.now()), old.privateKey)
  t.equal(await call(oldToken), 200, 'a token signed with the previous key')
  t.equal(await call(forge({ alg: 'EdDSA', typ: 'at+jwt', kid: 'k3' }, claims(Date.now()), old.privateKey)), 401, 'unknown kid')
  t.equal(await call(forge({ alg: 'EdDSA', typ: 'at+jwt', kid: 'k2' }, claims(Date.now()), old.privateKey)), 401, 'kid of another key')
  t.equal(await call(forge({ alg: 'EdDSA', typ: 'at+jwt' }, claims(Date.now()), old.privateKey)), 401, 'no kid with several keys')
  t.same(
    (await app.inject({ url: '/.well-known/jwks.json' })).json().keys.map((k: { kid: string }) => k.kid),
    ['k2', 'k1']
  )
  t.match(app.accessTokens.sign({ sub: 'u' }).token, /^eyJ/)
  t.equal(JSON.parse(Buffer.from(app.accessTokens.sign({ sub: 'u' }).token.split('.')[0], 'base64url').toString()).kid, 'k2')
})

t.test('a token whose alg differs from its key is refused (no algorithm confusion)', async (t) => {
  const { call } = await bearerApp({
    signingKey: { kid: 'ed', privateKey: pairs.EdDSA.privateKey },
    verificationKeys: [{ kid: 'rsa', publicKey: pairs.RS256.publicKey }]
  })
  t.equal(await call(forge({ alg: 'RS256', typ: 'at+jwt', kid: 'ed' }, claims(Date.now()), pairs.RS256.privateKey)), 401)
  t.equal(await call(forge({ alg: 'RS256', typ: 'at+jwt', kid: 'rsa' }, claims(Date.now()), pairs.RS256.privateKey)), 200)
})

t.test('HS256 publishes no keys and serves no JWKS route', async (t) => {
  const { app } = await bearerApp({ secret: SECRET })
  t.same(app.accessTokens.jwks(), { keys: [] })
  t.equal((await app.inject({ url: '/.well-known/jwks.json' })).statusCode, 404)
})

t.test('unusable keys and options fail at registration with the option named', async (t) => {
  const weakRsa = generateKeyPairSync('rsa', { modulusLength: 1024 })
  const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' })
  const k256 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' })
  const cases: Array<[Partial<OAuth2BearerOptions>, string, RegExp]> = [
    [{ secret: 'too-short-secret' }, 'WARDEN_ERR_KEY', /key 'secret': must be at least 32 bytes/],
    [{ secret: 42 as never }, 'WARDEN_ERR_KEY', /key 'secret': must be a string or a Buffer/],
    [{}, 'WARDEN_ERR_OPTION', /option 'secret' or 'signingKey' or 'jwksUrl' or 'discovery': exactly one/],
    [{ secret: SECRET, signingKey: { kid: 'a', privateKey: pairs.EdDSA.privateKey } }, 'WARDEN_ERR_OPTION', /exactly one/],
    [{ secret: SECRET, verificationKeys: [] }, 'WARDEN_ERR_OPTION', /option 'verificationKeys'/],
    [{ signingKey: { kid: 'a', privateKey: weakRsa.privateKey } }, 'WARDEN_ERR_KEY', /at least 2048 bits/],
    [{ signingKey: { kid: 'a', privateKey: k256.privateKey } }, 'WARDEN_ERR_KEY', /curve secp256k1 is not supported/],
    // Regression: JWT_ALGORITHM was read but not used, so ES256 with an Ed25519 key signed EdDSA.
    [
      { signingKey: { kid: 'a', privateKey: pairs.EdDSA.privateKey }, algorithm: 'ES256' },
      'WARDEN_ERR_KEY',
      /a ed25519 key cannot be used with ES256 \(it fits EdDSA\)/
    ],
    [{ signingKey: { kid: 'a', privateKey: p384.privateKey }, algorithm: 'ES256' }, 'WARDEN_ERR_KEY', /cannot be used with ES256 \(it fits ES384\)/],
    [{ secret: SECRET, algorithm: 'RS256' }, 'WARDEN_ERR_KEY', /a secret signs HS256, not RS256/],
    [{ secret: SECRET, algorithm: 'none' as never }, 'WARDEN_ERR_OPTION', /option 'algorithm' must be one of/],
    [{ secret: SECRET, algorithms: ['HS256', 'none'] as never }, 'WARDEN_ERR_OPTION', /option 'algorithms' must be a non-empty list/],
    [{ jwksUrl: 'http://keys.example.com/jwks.json' }, 'WARDEN_ERR_OPTION', /option 'jwksUrl' must be https \(http only for a provider on this machine/],
    [{ signingKey: { kid: 'a', privateKey: 'not a pem' } }, 'WARDEN_ERR_KEY', /signingKey.privateKey': is not a PEM private key/],
    [{ signingKey: { kid: 'a', privateKey: pairs.EdDSA.publicKey } }, 'WARDEN_ERR_KEY', /must be a private key/],
    [{ signingKey: { kid: '', privateKey: pairs.EdDSA.privateKey } }, 'WARDEN_ERR_KEY', /kid must be/],
    [
      { signingKey: { kid: 'a', privateKey: pairs.EdDSA.privateKey }, verificationKeys: [{ kid: 'a', publicKey: pairs.RS256.publicKey }] },
      'WARDEN_ERR_KEY',
      /kid 'a' is used twice/
    ],
    [
      { signingKey: { kid: 'a', privateKey: pairs.EdDSA.privateKey }, verificationKeys: [{ kid: 'b', publicKey: weakRsa.publicKey }] },
      'WARDEN_ERR_KEY',
      /verificationKeys\[0\]'.*2048/
    ],
    [{ secret: SECRET, clockTolerance: 120 }, 'WARDEN_ERR_OPTION', /option 'clockTolerance' must be an integer from 0 to 60/],
    [{ secret: SECRET, expiresIn: 0 }, 'WARDEN_ERR_OPTION', /option 'expiresIn'/],
    [{ secret: SECRET, issuer: '' }, 'WARDEN_ERR_OPTION', /option 'issuer'/],
    [{ secret: SECRET, audience: undefined }, 'WARDEN_ERR_OPTION', /option 'audience'/],
    [{ secret: SECRET, tokenUrl: 'javascript:alert(1)' }, 'WARDEN_ERR_OPTION', /option 'tokenUrl'/],
    [{ secret: SECRET, scopes: ['nope'] }, 'WARDEN_ERR_OPTION', /option 'scopes' names scope 'nope'/],
    [{ secret: SECRET, realm: 'x\ny' }, 'WARDEN_ERR_OPTION', /option 'realm'/],
    [{ secret: SECRET, isRevoked: true as never }, 'WARDEN_ERR_OPTION', /option 'isRevoked' must be a function/],
    [{ jwksUrl: '/relative' }, 'WARDEN_ERR_OPTION', /option 'jwksUrl' must be an absolute URL/],
    [{ jwksUrl: 'ftp://x' }, 'WARDEN_ERR_OPTION', /option 'jwksUrl'/]
  ]
  for (const [opts, code, message] of cases) {
    const app = Fastify()
    await app.register(warden, { scopes: SCOPES })
    app.register(oauth2Bearer, { issuer: ISSUER, audience: AUDIENCE, ...opts } as OAuth2BearerOptions)
    await t.rejects(
      (async () => {
        await app.ready()
      })(),
      { code, message },
      message.source
    )
  }
})

t.test('resourceMetadata: RFC 9728 document at the well-known path of the resource, advertised in challenges', async (t) => {
  const { app } = await bearerApp({
    secret: SECRET,
    resourceMetadata: {
      resource: 'https://api.example.com/v1',
      authorizationServers: ['https://id.example.com'],
      documentation: 'https://api.example.com/docs'
    }
  })
  const denied = await app.inject({ url: '/r' })
  t.equal(denied.headers['www-authenticate'], 'Bearer realm="api", resource_metadata="https://api.example.com/.well-known/oauth-protected-resource/v1"')
  const doc = await app.inject({ url: '/.well-known/oauth-protected-resource/v1' })
  t.same(doc.json(), {
    resource: 'https://api.example.com/v1',
    authorization_servers: ['https://id.example.com'],
    scopes_supported: ['users:read', 'users:write', 'admin'],
    bearer_methods_supported: ['header'],
    resource_documentation: 'https://api.example.com/docs'
  })
  for (const resource of ['not a url', 'https://api.example.com/?q=1']) {
    const app = Fastify()
    await app.register(warden)
    app.register(oauth2Bearer, { issuer: ISSUER, audience: AUDIENCE, secret: SECRET, resourceMetadata: { resource } })
    await t.rejects(
      (async () => {
        await app.ready()
      })(),
      { code: 'WARDEN_ERR_OPTION', message: /resourceMetadata.resource/ }
    )
  }
})

t.test('RFC 9728 metadata names the accepted issuers as authorization servers unless told otherwise, so a client finds where to get a token', async (t) => {
  const app = Fastify()
  await app.register(warden, { scopes: { read: 'Read' } })
  await app.register(oauth2Bearer, {
    issuer: ['https://id.example.com', 'https://login.example.org/tenant', 'not-a-url'],
    audience: AUDIENCE,
    secret: SECRET,
    resourceMetadata: { resource: 'https://api.example.com' }
  })
  const doc = (await app.inject({ url: '/.well-known/oauth-protected-resource' })).json()
  t.same(doc.authorization_servers, ['https://id.example.com', 'https://login.example.org/tenant'], 'the issuers that are URLs, in order')
  const own = Fastify()
  await own.register(warden)
  await own.register(oauth2Bearer, { issuer: ISSUER, audience: AUDIENCE, secret: SECRET, resourceMetadata: { resource: 'https://api.example.com', authorizationServers: [] } })
  t.notOk('authorization_servers' in (await own.inject({ url: '/.well-known/oauth-protected-resource' })).json(), 'an empty list given: none named')
})
