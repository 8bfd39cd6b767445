import t from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import { plugins } from '../helpers/subject.js'
import { SECRET } from '../helpers/keys.js'
import type { ApiKeyRecord, BasicAuthOptions, OAuth2BearerOptions, OAuth2ServerOptions } from '../../plugins/index.js'

const { warden, apiKey, basicAuth, oauth2Bearer, oauth2Server, generateApiKey, INVALID_CREDENTIALS } = plugins
const SCOPES = { 'invoices:read': 'Read invoices', 'invoices:write': 'Write invoices' }

/** An app whose log lines are kept, to assert the events. */
async function app (register: (app: FastifyInstance) => Promise<void>): Promise<{ app: FastifyInstance; logs: Array<Record<string, unknown>> }> {
  const logs: Array<Record<string, unknown>> = []
  const stream = {
    write: (line: string) => {
      logs.push(JSON.parse(line))
    }
  }
  const server = Fastify({ logger: { level: 'info', stream } })
  await server.register(warden, { scopes: SCOPES })
  await register(server)
  const security = [...server.warden.schemes.keys()].map((name) => ({ [name]: ['invoices:read'] }))
  server.get('/invoices', { schema: { security } }, async (request) => ({ scopes: request.auth?.scopes }))
  t.teardown(() => server.close())
  await server.ready()
  return { app: server, logs }
}

const issued = generateApiKey()
const withLookup =
  (record: (r: ApiKeyRecord) => unknown) =>
    async (server: FastifyInstance): Promise<void> => {
      await server.register(apiKey, {
        secret: SECRET,
        lookup: (() => record({ id: 'k1', digest: server.apiKeys.digest(issued.key), subject: 'svc', scopes: ['invoices:read'], expiresAt: null })) as never
      })
    }

t.test('regression: an API-key record with expiresAt in milliseconds, NaN or a date string is refused, naming the field', async (t) => {
  for (const expiresAt of [Date.now() - 10_000, Date.now() + 60_000, Number.NaN, '2020-01-01', Infinity]) {
    const { app: server, logs } = await app(withLookup((r) => ({ ...r, expiresAt })))
    const res = await server.inject({ url: '/invoices', headers: { 'x-api-key': issued.key } })
    t.equal(res.statusCode, 401, `expiresAt ${String(expiresAt)}`)
    t.match(
      logs.find((l) => l.event === 'auth.callback.invalid'),
      { level: 50, callback: 'apiKey.lookup', field: 'expiresAt', expected: 'must be seconds since the epoch, or null' }
    )
  }
  const { app: fine } = await app(withLookup((r) => ({ ...r, expiresAt: Math.floor(Date.now() / 1000) + 60 })))
  t.equal((await fine.inject({ url: '/invoices', headers: { 'x-api-key': issued.key } })).statusCode, 200, 'seconds are accepted')
})

t.test("regression: scopes as a string ('invoices:readonly') grant nothing, not invoices:read by substring", async (t) => {
  const { app: server, logs } = await app(withLookup((r) => ({ ...r, scopes: 'invoices:readonly' })))
  t.equal((await server.inject({ url: '/invoices', headers: { 'x-api-key': issued.key } })).statusCode, 401)
  t.match(
    logs.find((l) => l.event === 'auth.callback.invalid'),
    { callback: 'apiKey.lookup', field: 'scopes' }
  )
})

t.test('regression: scopes the scheme does not declare never reach request.auth.scopes', async (t) => {
  const { app: server } = await app(withLookup((r) => ({ ...r, scopes: ['invoices:read', 'root', 'admin'] })))
  const res = await server.inject({ url: '/invoices', headers: { 'x-api-key': issued.key } })
  t.same(res.json(), { scopes: ['invoices:read'] })
})

t.test('regression: other wrong record shapes fail closed', async (t) => {
  const shapes: Array<[string, (r: ApiKeyRecord) => unknown, string]> = [
    ['a string', () => 'yes', '(result)'],
    ['no subject', (r) => ({ ...r, subject: '' }), 'subject'],
    ['no id', (r) => ({ ...r, id: 7 }), 'id'],
    ['no digest', (r) => ({ ...r, digest: undefined }), 'digest'],
    ['user not an object', (r) => ({ ...r, user: 'admin' }), 'user']
  ]
  for (const [what, shape, field] of shapes) {
    const { app: server, logs } = await app(withLookup(shape))
    t.equal((await server.inject({ url: '/invoices', headers: { 'x-api-key': issued.key } })).statusCode, 401, what)
    t.match(
      logs.find((l) => l.event === 'auth.callback.invalid'),
      { field },
      what
    )
  }
})

t.test('regression: a lookup that throws or a store that is down is a 503 with Retry-After, not a 500', async (t) => {
  for (const lookup of [
    () => {
      throw new Error('connection refused')
    },
    async () => {
      throw new Error('pool timeout')
    }
  ]) {
    const { app: server, logs } = await app(async (s) => {
      await s.register(apiKey, { secret: SECRET, lookup })
    })
    const res = await server.inject({ url: '/invoices', headers: { 'x-api-key': issued.key } })
    t.equal(res.statusCode, 503)
    t.equal(res.headers['retry-after'], '5')
    t.equal(res.json().status, 503)
    t.notMatch(res.body, /connection refused|pool timeout/, 'nothing of the cause')
    t.match(
      logs.find((l) => l.event === 'auth.unavailable'),
      { level: 50, scheme: 'apiKey' }
    )
  }
})

t.test('regression: Basic verify results are checked like lookups', async (t) => {
  const cases: Array<[unknown, number, string | undefined]> = [
    [{ subject: 'ada', scopes: 'invoices:read' }, 401, 'scopes'],
    [{ subject: 42, scopes: [] }, 401, 'subject'],
    [true, 401, '(result)'],
    [{ subject: 'ada', scopes: ['invoices:read', 'root'] }, 200, undefined]
  ]
  for (const [result, status, field] of cases) {
    const { app: server, logs } = await app(async (s) => {
      await s.register(basicAuth, { verify: (() => result) as unknown as BasicAuthOptions['verify'] })
    })
    const res = await server.inject({ url: '/invoices', headers: { authorization: 'Basic ' + Buffer.from('ada:pw').toString('base64') } })
    t.equal(res.statusCode, status, JSON.stringify(result))
    if (field !== undefined) {
      t.match(
        logs.find((l) => l.event === 'auth.callback.invalid'),
        { callback: 'basicAuth.verify', field }
      )
    } else t.same(res.json(), { scopes: ['invoices:read'] }, 'undeclared scopes dropped')
  }
  const { app: down } = await app(async (s) => {
    await s.register(basicAuth, {
      verify: async () => {
        throw new Error('users table locked')
      }
    })
  })
  t.equal((await down.inject({ url: '/invoices', headers: { authorization: 'Basic ' + Buffer.from('ada:pw').toString('base64') } })).statusCode, 503)
})

t.test('regression: isRevoked returning anything but a boolean fails closed; one that throws is a 503', async (t) => {
  const bearer = (isRevoked: OAuth2BearerOptions['isRevoked']) => async (s: FastifyInstance) => {
    await s.register(oauth2Bearer, { secret: SECRET, issuer: 'https://id', audience: 'https://api', isRevoked })
  }
  for (const result of [undefined, 'no', 0, null]) {
    const { app: server, logs } = await app(bearer(() => result as never))
    const res = await server.inject({
      url: '/invoices',
      headers: { authorization: `Bearer ${server.accessTokens.sign({ sub: 'u', scope: ['invoices:read'] }).token}` }
    })
    t.equal(res.statusCode, 401, `isRevoked → ${String(result)}`)
    t.match(
      logs.find((l) => l.event === 'auth.callback.invalid'),
      { callback: 'isRevoked', field: '(result)' }
    )
  }
  const { app: down } = await app(
    bearer(async () => {
      throw new Error('redis down')
    })
  )
  t.equal((await down.inject({ url: '/invoices', headers: { authorization: `Bearer ${down.accessTokens.sign({ sub: 'u' }).token}` } })).statusCode, 503)
})

t.test("regression: the token endpoint's user verifier is checked; one that throws is a 503 and issues nothing", async (t) => {
  const server = (verifyUser: OAuth2ServerOptions['verifyUser']) => async (s: FastifyInstance) => {
    await s.register(oauth2Bearer, { secret: SECRET, issuer: 'https://id', audience: 'https://api' })
    await s.register(oauth2Server, { verifyUser })
  }
  const login = {
    method: 'POST' as const,
    url: '/auth/token',
    payload: 'grant_type=password&username=ada&password=pw',
    headers: { 'content-type': 'application/x-www-form-urlencoded' }
  }
  const { app: wrong, logs } = await app(server(() => ({ subject: 'ada', scopes: 'invoices:read' }) as never))
  const refused = await wrong.inject(login)
  t.same(refused.json(), { error: 'invalid_grant', error_description: 'Invalid username or password.' })
  t.match(
    logs.find((l) => l.event === 'auth.callback.invalid'),
    { callback: 'verifyUser', field: 'scopes' }
  )
  const { app: extra } = await app(server(() => ({ subject: 'ada', scopes: ['invoices:read', 'root'] })))
  t.equal((await extra.inject(login)).json().scope, 'invoices:read', 'undeclared scopes are not granted')
  const { app: down } = await app(
    server(async () => {
      throw new Error('db down')
    })
  )
  const res = await down.inject(login)
  t.equal(res.statusCode, 503)
  t.equal(res.headers['retry-after'], '5')
  t.equal(res.headers['cache-control'], 'no-store')
  t.notOk('access_token' in res.json())
})

/** What a query builder (knex, Kysely's compiled queries) or another promise library hands back: a thenable, not a Promise. */
const thenable = <T>(value: T): PromiseLike<T> => ({ then: (resolve, reject) => Promise.resolve(value).then(resolve, reject) as never })

t.test('regression: every app callback may answer with a thenable that is not a native Promise, and is awaited, never taken for the answer', async (t) => {
  const bearer =
    (options: Partial<OAuth2BearerOptions>) =>
      async (server: FastifyInstance): Promise<void> => {
        await server.register(oauth2Bearer, { secret: SECRET, issuer: 'https://id.test', audience: 'https://api.test', ...options } as OAuth2BearerOptions)
      }
  const token = (server: FastifyInstance) => ({ authorization: `Bearer ${server.accessTokens.sign({ sub: 'u-1', scope: ['invoices:read'] }).token}` })

  const gone = await app(bearer({ resolveUser: () => thenable(null) }))
  t.equal(
    (await gone.app.inject({ url: '/invoices', headers: token(gone.app) })).statusCode,
    401,
    'resolveUser: a user gone is refused (the thenable itself was taken for a user)'
  )
  const found = await app(bearer({ resolveUser: () => thenable({ name: 'Ada' }) }))
  t.equal((await found.app.inject({ url: '/invoices', headers: token(found.app) })).statusCode, 200)

  const revoked = await app(bearer({ isRevoked: () => thenable(true) }))
  t.equal((await revoked.app.inject({ url: '/invoices', headers: token(revoked.app) })).statusCode, 401, 'isRevoked')
  const live = await app(bearer({ isRevoked: () => thenable(false) }))
  t.equal((await live.app.inject({ url: '/invoices', headers: token(live.app) })).statusCode, 200)

  const keyOwner = async (user: unknown) =>
    await app(async (server) => {
      await server.register(apiKey, {
        secret: SECRET,
        keys: [{ id: 'k1', key: issued.key, subject: 'svc', scopes: ['invoices:read'] }],
        resolveUser: () => thenable(user) as never
      })
    })
  t.equal(
    (await (await keyOwner(null)).app.inject({ url: '/invoices', headers: { 'x-api-key': issued.key } })).statusCode,
    401,
    'apiKey resolveUser: an owner gone'
  )
  t.equal((await (await keyOwner({ name: 'svc' })).app.inject({ url: '/invoices', headers: { 'x-api-key': issued.key } })).statusCode, 200)

  const looked = await app(withLookup((r) => thenable(r)))
  t.equal((await looked.app.inject({ url: '/invoices', headers: { 'x-api-key': issued.key } })).statusCode, 200, 'apiKey lookup')
  const unknown = await app(withLookup(() => thenable(null)))
  t.equal((await unknown.app.inject({ url: '/invoices', headers: { 'x-api-key': issued.key } })).statusCode, 401)

  const basic = await app(async (server) => {
    await server.register(basicAuth, {
      verify: (username: string) => thenable(username === 'ada' ? { subject: 'ada', scopes: ['invoices:read'] } : null)
    } as BasicAuthOptions)
  })
  const as = (username: string) => ({ authorization: 'Basic ' + Buffer.from(`${username}:pw`).toString('base64') })
  t.equal((await basic.app.inject({ url: '/invoices', headers: as('ada') })).statusCode, 200, 'basicAuth verify')
  t.equal((await basic.app.inject({ url: '/invoices', headers: as('eve') })).statusCode, 401)
})

/** A thenable that is a function: `await` adopts it as it does an object with a `then`. */
const callable = <T>(value: T): PromiseLike<T> =>
  Object.assign(() => {}, {
    then: (resolve: (v: T) => void) => {
      resolve(value)
    }
  }) as never
/** `then` is a function on its first read only (a Proxy, a lazy getter): the check and the call must read it once. */
const flaky = <T>(value: T): PromiseLike<T> => {
  let reads = 0
  return {
    get then () {
      return reads++ === 0
        ? (resolve: (v: T) => void) => {
            resolve(value)
          }
        : undefined
    }
  } as never
}
const throwingThen = (): PromiseLike<never> => ({
  get then (): never {
    throw new Error('then getter')
  }
})

t.test(
  'regression: a thenable is read as await reads it: a function with then, a then read once, ' +
    'a then that throws is a 503; a scheme answering outside the contract is a 500, never an admission',
  async (t) => {
    const custom =
      (answer: () => unknown, scopes = ['invoices:read']) =>
        async (server: FastifyInstance): Promise<void> => {
          server.warden.addScheme({
            name: 'custom',
            scopes: new Set(scopes),
            openapi: { type: 'http', scheme: 'bearer' },
            challenge: () => 'Custom',
            authenticate: answer as never
          })
        }
    const status = async (register: (server: FastifyInstance) => Promise<void>, headers: Record<string, string> = {}) =>
      (await (await app(register)).app.inject({ url: '/invoices', headers })).statusCode
    const principal = { scheme: 'custom', subject: 'svc', scopes: ['invoices:read'] }
    for (const [name, wrap] of [
      ['callable', callable],
      ['flaky', flaky]
    ] as const) {
      t.equal(await status(custom(() => wrap(INVALID_CREDENTIALS))), 401, `a scheme's ${name} thenable refusing`)
      t.equal(await status(custom(() => wrap(principal))), 200, `a scheme's ${name} thenable admitting`)
      const bearer = async (server: FastifyInstance): Promise<void> => {
        await server.register(oauth2Bearer, {
          secret: SECRET,
          issuer: 'https://id.test',
          audience: 'https://api.test',
          resolveUser: () => wrap(null)
        } as OAuth2BearerOptions)
      }
      const server = (await app(bearer)).app
      t.equal(
        (
          await server.inject({
            url: '/invoices',
            headers: { authorization: `Bearer ${server.accessTokens.sign({ sub: 'u-1', scope: ['invoices:read'] }).token}` }
          })
        ).statusCode,
        401,
        `resolveUser's ${name} thenable: a user gone`
      )
    }
    t.equal(await status(custom(throwingThen)), 503, 'a then that throws is a dependency failing')
    for (const answer of [undefined, true, 'svc', {}, { subject: 'svc' }, { subject: '', scopes: [] }, { subject: 'svc', scopes: 'invoices:read' }]) {
      t.equal(await status(custom(() => answer)), 500, `a scheme answering ${JSON.stringify(answer)}: a bug in the scheme`)
      t.equal(await status(custom(() => Promise.resolve(answer))), 500, 'or a promise of it')
    }
    const { app: server, logs } = await app(custom(() => ({ subject: 'svc' })))
    await server.inject({ url: '/invoices' })
    t.match(
      JSON.stringify(logs),
      /security scheme 'custom': authenticate\(\) must answer null, INVALID_CREDENTIALS or a principal \{ subject, scopes \}/,
      'the log names the scheme and what it got wrong'
    )
  }
)

t.test('regression: an onUse that rejects is logged, and the process lives on', async (t) => {
  const { app: server, logs } = await app(async (s) => {
    await s.register(apiKey, {
      secret: SECRET,
      keys: [{ id: 'k1', key: issued.key, subject: 'svc', scopes: ['invoices:read'] }],
      onUse: async () => {
        throw new Error('usage table down')
      }
    })
  })
  t.equal((await server.inject({ url: '/invoices', headers: { 'x-api-key': issued.key } })).statusCode, 200, 'the use itself is not held up')
  await new Promise((resolve) => setImmediate(resolve))
  t.match(
    logs.find((l) => l.msg === 'apiKey.onUse failed'),
    { level: 50, callback: 'apiKey.onUse', api_key: 'k1', err: { message: 'usage table down' } }
  )
})

t.test('a store down for many requests is one error line with its cause, then one info line when the scheme answers again', async (t) => {
  let down = true
  const { app: server, logs } = await app(async (s) => {
    await s.register(apiKey, {
      secret: SECRET,
      lookup: async () => {
        if (down) throw new Error('pool timeout')
        return { id: 'k1', digest: s.apiKeys.digest(issued.key), subject: 'svc', scopes: ['invoices:read'], expiresAt: null }
      }
    })
  })
  const statuses = await Promise.all(
    Array.from({ length: 50 }, async () => (await server.inject({ url: '/invoices', headers: { 'x-api-key': issued.key } })).statusCode)
  )
  t.same(new Set(statuses), new Set([503]), 'every request refused with 503')
  t.equal(logs.filter((l) => l.event === 'auth.unavailable').length, 1, 'one error line for the outage, not 50 stack traces')
  t.match(
    logs.find((l) => l.event === 'auth.unavailable'),
    { level: 50, scheme: 'apiKey', err: { message: 'pool timeout' } }
  )
  down = false
  t.equal((await server.inject({ url: '/invoices', headers: { 'x-api-key': issued.key } })).statusCode, 200)
  t.equal((await server.inject({ url: '/invoices', headers: { 'x-api-key': issued.key } })).statusCode, 200)
  t.match(
    logs.filter((l) => l.event === 'auth.available'),
    [{ level: 30, scheme: 'apiKey', down_ms: Number }],
    'one line when it answers again'
  )
})

t.test('a refused credential that never reached the store (a malformed key) says nothing of it: the outage goes on, one line', async (t) => {
  const { app: server, logs } = await app(async (s) => {
    await s.register(apiKey, { secret: SECRET, lookup: async () => { throw new Error('pool timeout') } })
  })
  for (let i = 0; i < 3; i++) {
    t.equal((await server.inject({ url: '/invoices', headers: { 'x-api-key': issued.key } })).statusCode, 503)
    t.equal((await server.inject({ url: '/invoices', headers: { 'x-api-key': 'garbage' } })).statusCode, 401)
  }
  t.equal(logs.filter((l) => l.event === 'auth.available').length, 0, 'no recovery announced while the store is down')
  t.equal(logs.filter((l) => l.event === 'auth.unavailable' && l.level === 50).length, 1, 'one error line for the outage')
})
