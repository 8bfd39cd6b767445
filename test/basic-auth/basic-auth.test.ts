import t from 'tap'
import Fastify from 'fastify'
import { warden, basicAuth, createPasswordHasher, oauth2Bearer, oauth2Server, type BasicAuthOptions } from '../../plugins/index.js'
import { parseBasic } from '../../plugins/basic-auth/authenticate.js'
import { SCOPES } from '../helpers/schemes.js'
import { SECRET } from '../helpers/keys.js'

const encode = (raw: string | Buffer): string => 'Basic ' + Buffer.from(raw).toString('base64')

async function basicApp (verify: BasicAuthOptions['verify'], opts: Partial<BasicAuthOptions> = {}) {
  const app = Fastify()
  await app.register(warden, { scopes: SCOPES })
  await app.register(basicAuth, { verify, ...opts })
  app.get('/r', { schema: { security: [{ basic: [] }] } }, async (req) => req.auth)
  await app.ready()
  return app
}

t.test('RFC 7617 parsing: UTF-8, colons in the password, first colon splits', async (t) => {
  t.same(parseBasic(Buffer.from('jürgen:pa:ss:wörd').toString('base64')), { username: 'jürgen', password: 'pa:ss:wörd' })
  t.same(parseBasic(Buffer.from('a:').toString('base64')), { username: 'a', password: '' })
  const refused: Array<[string, string]> = [
    ['no colon', Buffer.from('alice').toString('base64')],
    ['empty user name', Buffer.from(':secret').toString('base64')],
    ['control character in the password', Buffer.from('alice:se\u0000cret').toString('base64')],
    ['control character in the user name', Buffer.from('al\nice:secret').toString('base64')],
    ['DEL character', Buffer.from('alice:\u007f').toString('base64')],
    ['invalid UTF-8', Buffer.from([0x61, 0x3a, 0xff, 0xfe]).toString('base64')],
    ['not base64', 'not base64!'],
    ['base64 without padding', Buffer.from('alice:x').toString('base64').replace(/=+$/, '')],
    ['too long', Buffer.from('a:' + 'x'.repeat(5000)).toString('base64')],
    ['user name over 256 characters', Buffer.from('u'.repeat(257) + ':p').toString('base64')]
  ]
  for (const [name, encoded] of refused) t.equal(parseBasic(encoded), undefined, name)
})

t.test('valid credentials admit the user; the verify function sees the decoded pair', async (t) => {
  const calls: string[][] = []
  const app = await basicApp((username, password) => {
    calls.push([username, password])
    return username === 'jürgen' && password === 'a:b' ? { subject: 'user-2', scopes: ['users:read'], user: { username } } : null
  })
  const res = await app.inject({ url: '/r', headers: { authorization: encode('jürgen:a:b') } })
  t.equal(res.statusCode, 200)
  t.same(res.json(), { scheme: 'basic', subject: 'user-2', scopes: ['users:read'], user: { username: 'jürgen' } })
  t.same(calls, [['jürgen', 'a:b']])
  t.equal(
    (await app.inject({ url: '/r', headers: { authorization: 'basic ' + Buffer.from('jürgen:a:b').toString('base64') } })).statusCode,
    200,
    'scheme name is case-insensitive'
  )
})

t.test('wrong, malformed or missing credentials get the Basic challenge with charset', async (t) => {
  let calls = 0
  const app = await basicApp(
    () => {
      calls++
      return null
    },
    { realm: 'identity' }
  )
  for (const authorization of [encode('alice:wrong'), encode('alice\u0001:x'), 'Basic %%%', 'Basic ']) {
    const res = await app.inject({ url: '/r', headers: { authorization } })
    t.equal(res.statusCode, 401, authorization)
    t.equal(res.headers['www-authenticate'], 'Basic realm="identity", charset="UTF-8"')
    t.equal(res.json().detail, 'The credentials presented are invalid or have expired.')
  }
  t.equal(calls, 1, 'malformed credentials never reach verify')
  const none = await app.inject({ url: '/r' })
  t.equal(none.statusCode, 401)
  t.equal(none.json().detail, 'Authentication is required to access this resource.')
})

t.test('one Basic challenge: the scheme and client authentication at the token endpoint build it alike', async (t) => {
  // A realm that must be escaped inside the quoted-string shows whether both go through one builder.
  const realm = 'the "notes" \\ api'
  const app = Fastify()
  await app.register(warden, { scopes: SCOPES, realm })
  const site = 'https://notes.example'
  await app.register(oauth2Bearer, { secret: SECRET, issuer: site, audience: site, tokenUrl: '/token' })
  const clients = { app: { secret: 'a client secret of 16+' } }
  await app.register(oauth2Server, { verifyUser: () => null, tokenPath: '/token', clients })
  await app.register(basicAuth, { verify: () => null })
  app.get('/r', { schema: { security: [{ basic: [] }] } }, async (req) => req.auth)
  t.teardown(() => app.close())
  const expected = 'Basic realm="the \\"notes\\" \\\\ api", charset="UTF-8"'
  const scheme = await app.inject({ url: '/r', headers: { authorization: encode('alice:wrong') } })
  t.equal(scheme.statusCode, 401)
  t.equal(scheme.headers['www-authenticate'], expected)
  for (const credentials of ['app:wrong secret', 'app\u0001:x']) {
    const client = await app.inject({
      method: 'POST',
      url: '/token',
      payload: 'grant_type=password&username=ada&password=x',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: encode(credentials) }
    })
    t.equal(client.statusCode, 401, credentials)
    t.equal(client.json().error, 'invalid_client')
    t.equal(client.headers['www-authenticate'], expected, credentials)
  }
})

t.test('verify is required', async (t) => {
  const app = Fastify()
  await app.register(warden)
  app.register(basicAuth, {} as BasicAuthOptions)
  await t.rejects(
    (async () => {
      await app.ready()
    })(),
    { code: 'WARDEN_ERR_OPTION', message: /option 'verify' must be a function/ }
  )
})

function median (values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]
}

t.test('an unknown user takes as long as a wrong password (dummy hash)', async (t) => {
  const hasher = createPasswordHasher({ memoryCost: 4096, timeCost: 2 })
  const users = new Map([['alice', await hasher.hash('correct horse battery')]])
  const verify: BasicAuthOptions['verify'] = async (username, password) => {
    return (await hasher.verify(users.get(username), password)) ? { subject: username, scopes: [] } : null
  }
  const naive: BasicAuthOptions['verify'] = async (username, password) => {
    const hash = users.get(username)
    if (hash === undefined) return null
    return (await hasher.verify(hash, password)) ? { subject: username, scopes: [] } : null
  }
  // Samples alternate between the two cases, so a busy machine slows both alike.
  const compare = async (app: Awaited<ReturnType<typeof basicApp>>, unknown: string, known: string): Promise<number> => {
    const samples: Record<string, number[]> = { [unknown]: [], [known]: [] }
    for (let i = 0; i < 11; i++) {
      for (const credentials of [unknown, known]) {
        const start = process.hrtime.bigint()
        const res = await app.inject({ url: '/r', headers: { authorization: encode(credentials) } })
        samples[credentials].push(Number(process.hrtime.bigint() - start))
        t.equal(res.statusCode, 401)
      }
    }
    return median(samples[unknown]) / median(samples[known])
  }
  const app = await basicApp(verify)
  await compare(app, 'warm:up', 'alice:warm up')
  const ratio = await compare(app, 'mallory:wrong password', 'alice:wrong password')
  t.ok(ratio > 0.6 && ratio < 1.6, `unknown user / wrong password = ${ratio.toFixed(2)}`)

  // The same measurement tells a verify without the dummy hash apart: the check can fail.
  const leaky = await basicApp(naive)
  const leakyRatio = await compare(leaky, 'mallory:x', 'alice:x')
  t.ok(leakyRatio < 0.5, `without the dummy hash: ${leakyRatio.toFixed(2)}`)
})
