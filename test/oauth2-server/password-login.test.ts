import t from 'tap'
import Fastify from 'fastify'
import { plugins } from '../helpers/subject.js'

const { warden, basicAuth, passwordLogin, memoryLoginAttempts } = plugins
type Options = Parameters<typeof passwordLogin>[0]

const SCOPES = { 'notes:read': 'Read notes' }
const basic = (username: string, password: string) => ({ authorization: 'Basic ' + Buffer.from(`${username}:${password}`).toString('base64') })

/** Basic on a login of its own (no token endpoint), as an app without oauth2Server has it; every log line kept. */
async function basicApp (options: Partial<Options> = {}) {
  const lines: Array<Record<string, unknown>> = []
  const app = Fastify({
    logger: {
      level: 'info',
      stream: {
        write: (line: string) => {
          lines.push(JSON.parse(line))
        }
      }
    }
  })
  await app.register(warden, { scopes: SCOPES })
  const login = passwordLogin({
    verifyUser: (username, password) => (username === 'ada' && password === 'right' ? { subject: 'u-ada', scopes: ['notes:read'], credential: 3 } : null),
    scopes: Object.keys(SCOPES),
    ...options
  })
  await app.register(basicAuth, { verify: login })
  app.get('/notes', { schema: { security: [{ basic: ['notes:read'] }] } }, async (request) => request.auth)
  t.teardown(() => app.close())
  await app.ready()
  return { app, login, lines }
}

t.test('passwordLogin: the lockout and the address budget without a token endpoint, and the events they leave', async (t) => {
  const { app, login, lines } = await basicApp({ lockout: { threshold: 2 }, addressLimit: { max: 10, timeWindow: 60_000 } })
  t.equal((await app.inject({ url: '/notes', headers: basic('ada', 'wrong') })).statusCode, 401)
  t.match(
    lines.find((l) => l.event === 'auth.login.failed'),
    { level: 30, reason: 'invalid credentials' }
  )
  t.notOk('locked_for' in lines.find((l) => l.event === 'auth.login.failed')!, 'under the threshold: no lock to report')
  lines.length = 0
  t.equal((await app.inject({ url: '/notes', headers: basic('ADA', 'wrong') })).statusCode, 401)
  t.match(
    lines.find((l) => l.event === 'auth.login.failed'),
    { locked_for: 30 },
    'the failure that locks says for how long'
  )
  const locked = await app.inject({ url: '/notes', headers: basic('ada', 'right') })
  t.equal(locked.statusCode, 429)
  t.equal(locked.headers['retry-after'], '30')
  t.match(
    lines.find((l) => l.event === 'auth.login.locked'),
    { level: 40, reason: 'too many failed logins for this account', retry_after: 30 }
  )
  await login.unlock('Ada')
  t.equal((await app.inject({ url: '/notes', headers: basic('ada', 'right') })).statusCode, 200, 'unlocked by the name in any case')
})

t.test('passwordLogin: a credential that changed since it was checked is refused; isCurrent decides', async (t) => {
  let current = 3
  const { app } = await basicApp({ isCurrent: async (subject, credential) => subject === 'u-ada' && credential >= current })
  t.equal((await app.inject({ url: '/notes', headers: basic('ada', 'right') })).statusCode, 200)
  current = 4
  t.equal((await app.inject({ url: '/notes', headers: basic('ada', 'right') })).statusCode, 401, 'the password checked belonged to version 3')
})

t.test('passwordLogin: a store that fails after a success is logged once, and the logins stand', async (t) => {
  const attempts = memoryLoginAttempts()
  const { app, lines } = await basicApp({
    attempts: {
      ...attempts,
      reset: async () => {
        throw new Error('redis gone')
      },
      release: async () => {
        throw new Error('redis gone')
      }
    }
  })
  for (let i = 0; i < 3; i++) t.equal((await app.inject({ url: '/notes', headers: basic('ada', 'right') })).statusCode, 200)
  const told = lines.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('login-attempt store'))
  t.match(told, [{ level: 40, msg: 'login-attempt store unavailable', reason: 'redis gone' }], 'one warn line for three logins, with the reason and no stack')
  t.equal(told.length, 1)
  t.notOk('err' in told[0])
})

t.test('passwordLogin: what the verifier returns is checked like any callback', async (t) => {
  for (const [credential, ok] of [
    [-1, false],
    [1.5, false],
    ['3', false],
    [Number.MAX_SAFE_INTEGER + 1, false],
    [0, true],
    [Number.MAX_SAFE_INTEGER, true]
  ] as const) {
    const lines: Array<Record<string, unknown>> = []
    const app = Fastify({
      logger: {
        level: 'info',
        stream: {
          write: (line: string) => {
            lines.push(JSON.parse(line))
          }
        }
      }
    })
    await app.register(warden, { scopes: SCOPES })
    await app.register(basicAuth, { verify: passwordLogin({ verifyUser: () => ({ subject: 's', scopes: [], credential }) as never, scopes: [] }) })
    app.get('/r', { schema: { security: [{ basic: [] }] } }, async () => 'ok')
    await app.ready()
    t.equal((await app.inject({ url: '/r', headers: basic('a', 'b') })).statusCode, ok ? 200 : 401, `credential ${String(credential)}`)
    if (!ok) {
      t.match(
        lines.find((l) => l.event === 'auth.callback.invalid'),
        { callback: 'verifyUser', field: 'credential', expected: 'must be a non-negative integer (a version that grows with every change)' }
      )
    }
    await app.close()
  }
  for (const claims of [null, 'x', ['a']]) {
    const app = Fastify()
    await app.register(warden, { scopes: SCOPES })
    await app.register(basicAuth, { verify: passwordLogin({ verifyUser: () => ({ subject: 's', scopes: [], claims }) as never, scopes: [] }) })
    app.get('/r', { schema: { security: [{ basic: [] }] } }, async () => 'ok')
    t.equal((await app.inject({ url: '/r', headers: basic('a', 'b') })).statusCode, 401, `claims ${JSON.stringify(claims)}`)
    await app.close()
  }
})

t.test('passwordLogin: options are checked when it is made, naming the option', async (t) => {
  const verifyUser = () => null
  const cases: Array<[unknown, RegExp]> = [
    [{ scopes: [] }, /^option 'verifyUser' must be a function/],
    [{ verifyUser, scopes: [], attempts: {} }, /^option 'loginAttempts' must be LoginAttempts/],
    [{ verifyUser, scopes: [], attempts: { reserve: async () => ({ granted: true, lock: 0 }) } }, /^option 'loginAttempts' must be LoginAttempts/],
    [{ verifyUser, scopes: [], lockout: null }, /^option 'lockout' must be \{ threshold, baseDelay, maxDelay, memory \} or false$/],
    [{ verifyUser, scopes: [], lockout: 5 }, /^option 'lockout' must be/],
    [{ verifyUser, scopes: [], lockout: { threshold: 0 } }, /^option 'lockout\.threshold' must be an integer from 1 to 1000000$/],
    [{ verifyUser, scopes: [], lockout: { baseDelay: 10 } }, /^option 'lockout\.baseDelay' must be an integer from 1000/],
    [{ verifyUser, scopes: [], lockout: { maxDelay: 10 } }, /^option 'lockout\.maxDelay' must be an integer from 1000/],
    [{ verifyUser, scopes: [], lockout: { memory: 10 } }, /^option 'lockout\.memory' must be an integer from 1000/],
    [{ verifyUser, scopes: [], addressLimit: { max: 0 } }, /^option 'rateLimit\.max' must be an integer from 1/],
    [{ verifyUser, scopes: [], addressLimit: { max: 5, timeWindow: 10 } }, /^option 'rateLimit\.timeWindow' must be an integer from 1000/]
  ]
  for (const [options, message] of cases) t.throws(() => passwordLogin(options as Options), { code: 'WARDEN_ERR_OPTION', message }, String(message))
  t.doesNotThrow(() => passwordLogin({ verifyUser, scopes: [], lockout: false, addressLimit: false }), 'false turns each off')
})
