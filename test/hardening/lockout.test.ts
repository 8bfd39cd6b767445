import t from 'tap'
import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import { referenceApp, form, fastPasswords, ADMIN_PASSWORD, type ReferenceApp } from '../helpers/reference-app.js'
import { closeSharedDatabase, postgresSkip, redisSkip, testDatabase, REDIS_URL, type Backend } from '../helpers/services.js'
import { memoryLoginAttempts, type PasswordHasher } from '../../plugins/index.js'
import { redisLoginAttempts } from '../../stores/index.js'

t.teardown(closeSharedDatabase)

/** The tests' hasher, counting the passwords it checks; each check takes 20 ms, so checks started together overlap. */
function countingHasher (): { passwords: PasswordHasher; checks: () => number } {
  let checks = 0
  const passwords: PasswordHasher = {
    ...fastPasswords,
    async verify (hash, password) {
      checks++
      await sleep(20)
      return await fastPasswords.verify(hash, password)
    }
  }
  return { passwords, checks: () => checks }
}

const basic = (username: string, password: string) => ({ authorization: 'Basic ' + Buffer.from(`${username}:${password}`).toString('base64') })
const token = async ({ app }: ReferenceApp, username: string, password: string, remoteAddress = '127.0.0.1') =>
  await app.inject({ method: 'POST', url: '/auth/token', ...form({ grant_type: 'password', username, password }), remoteAddress })
const statuses = (responses: Array<{ statusCode: number }>): Record<number, number> =>
  responses.reduce<Record<number, number>>((count, r) => ({ ...count, [r.statusCode]: (count[r.statusCode] ?? 0) + 1 }), {})

t.test('consecutive failed logins lock the account for a growing delay; success and an admin reset it', async (t) => {
  let now = Date.now()
  const identity = await referenceApp(t, { loginAttempts: memoryLoginAttempts({ now: () => now }), lockout: { threshold: 3, baseDelay: 30_000 } })
  const { app, login, bearer, createUser, stores } = identity
  await createUser('erin', 'user', 'erin password 123')
  const from = () => `10.9.${Math.floor(Math.random() * 250)}.1`

  for (let i = 0; i < 3; i++) {
    const res = await token(identity, 'erin', 'wrong', from())
    t.equal(res.statusCode, 400)
    t.same(res.json(), { error: 'invalid_grant', error_description: 'Invalid username or password.' }, 'the generic answer, from any address')
  }
  const locked = await token(identity, 'erin', 'erin password 123', from())
  t.equal(locked.statusCode, 429, 'locked: even the right password waits')
  t.equal(locked.headers['retry-after'], '30')
  t.equal(locked.headers['content-type'], 'application/problem+json; charset=utf-8')
  const overBasic = await app.inject({ url: '/users/me', headers: basic('erin', 'erin password 123') })
  t.equal(overBasic.statusCode, 429, 'Basic is refused during the lock too, and says how long to wait')
  t.equal(overBasic.headers['retry-after'], '30')

  now += 31_000
  t.equal((await token(identity, 'erin', 'wrong', from())).statusCode, 400)
  t.equal((await token(identity, 'erin', 'erin password 123', from())).headers['retry-after'], '60', 'the next lock is twice as long')

  const admin = await login()
  const erin = await stores.users.findByUsername('erin')
  t.equal((await app.inject({ method: 'DELETE', url: `/users/${erin!.id}/lockout`, headers: bearer(admin.access_token) })).statusCode, 204)
  t.equal((await token(identity, 'erin', 'erin password 123', from())).statusCode, 200, 'an administrator lifted the lock')
  for (let i = 0; i < 2; i++) await token(identity, 'erin', 'wrong', from())
  t.equal((await token(identity, 'erin', 'erin password 123', from())).statusCode, 200, 'a success resets the count')
  t.equal((await app.inject({ method: 'DELETE', url: `/users/${randomUUID()}/lockout`, headers: bearer(admin.access_token) })).statusCode, 404)
})

t.test('failed Basic logins count toward the same lock', async (t) => {
  const identity = await referenceApp(t, { lockout: { threshold: 3 } })
  await identity.createUser('frank', 'user', 'frank password 123')
  for (let i = 0; i < 3; i++) t.equal((await identity.app.inject({ url: '/users/me', headers: basic('frank', 'guess ' + i) })).statusCode, 401)
  t.equal((await token(identity, 'frank', 'frank password 123')).statusCode, 429, 'three wrong Basic passwords locked the account for the token endpoint too')
})

t.test('unknown user names lock the same way, so a lock tells nothing about an account', async (t) => {
  const identity = await referenceApp(t, { lockout: { threshold: 2 } })
  for (const username of ['admin', 'nobody-here']) {
    await token(identity, username, 'wrong')
    await token(identity, username, 'wrong')
    const res = await token(identity, username, 'wrong')
    t.equal(res.statusCode, 429, username)
    t.equal(res.headers['retry-after'], '30', username)
  }
  const right = await token(identity, 'ADMIN', ADMIN_PASSWORD)
  t.equal(right.statusCode, 429, 'while locked, even the right password is not checked, in any case of the name')
})

const skip: Record<Backend, string | false> = { pglite: false, postgres: await postgresSkip() }
for (const backend of ['pglite', 'postgres'] as const) {
  t.test(`${backend}: 12 wrong passwords in flight check at most the threshold, at the token endpoint and over Basic`, { skip: skip[backend] }, async (t) => {
    const { passwords, checks } = countingHasher()
    const identity = await referenceApp(t, { database: await testDatabase(t, backend), passwords, lockout: { threshold: 5 } })
    await identity.createUser('gina', 'user', 'gina password 123')
    const storm = await Promise.all(Array.from({ length: 12 }, async () => await token(identity, 'gina', 'wrong')))
    t.same(statuses(storm), { 400: 5, 429: 7 }, 'five refused after their check, seven locked out before it')
    t.equal(checks(), 5, 'exactly the threshold of passwords checked')

    await identity.createUser('hugo', 'user', 'hugo password 123')
    const before = checks()
    const overBasic = await Promise.all(
      Array.from({ length: 12 }, async () => await identity.app.inject({ url: '/users/me', headers: basic('hugo', 'wrong') }))
    )
    t.same(statuses(overBasic), { 401: 5, 429: 7 })
    t.equal(checks() - before, 5, 'the same bound over Basic')
  })
}

t.test(
  'two instances sharing Redis: 12 wrong passwords in flight across both check at most the threshold',
  { skip: skip.postgres || (await redisSkip()) },
  async (t) => {
    const redis = new Redis(REDIS_URL)
    t.teardown(() => redis.disconnect())
    const namespace = `test-${randomUUID()}`
    const { passwords, checks } = countingHasher()
    const database = await testDatabase(t, 'postgres')
    const a = await referenceApp(t, { database, passwords, lockout: { threshold: 5 }, loginAttempts: redisLoginAttempts(redis, { namespace }) })
    const b = await referenceApp(t, {
      database: { ...database, close: async () => {} },
      passwords,
      lockout: { threshold: 5 },
      loginAttempts: redisLoginAttempts(redis, { namespace })
    })
    await a.createUser('iris', 'user', 'iris password 123')
    const storm = await Promise.all(Array.from({ length: 12 }, async (_, i) => await token(i % 2 === 0 ? a : b, 'iris', 'wrong')))
    t.same(statuses(storm), { 400: 5, 429: 7 })
    t.equal(checks(), 5, "the count is the accounts', not the instance's")
  }
)

t.test('user names are one account in any case or form: unique, and one lockout counter', async (t) => {
  const identity = await referenceApp(t, { lockout: { threshold: 5 } })
  const { app, login, bearer } = identity
  const admin = await login()
  const create = async (username: string) =>
    await app.inject({
      method: 'POST',
      url: '/users',
      headers: bearer(admin.access_token),
      payload: { username, email: `${randomUUID()}@example.com`, password: 'a good long password', role: 'user' }
    })
  t.equal((await create('Casev')).statusCode, 201)
  for (const twin of ['casev', 'CASEV', 'CaSeV']) {
    const res = await create(twin)
    t.equal(res.statusCode, 409, `${twin} is the same name`)
    t.equal(res.json().detail, 'The username is already taken.')
  }
  t.equal((await token(identity, 'cAsEv', 'a good long password')).statusCode, 200, 'a login finds the account in any case')
  t.equal((await token(identity, 'ＣＡＳＥＶ', 'a good long password')).statusCode, 200, '…and in full-width letters (NFKC)')
  for (const spelling of ['CASEV', 'casev', 'Casev', ' casev', 'ＣＡＳＥＶ']) t.equal((await token(identity, spelling, 'wrong')).statusCode, 400)
  t.equal((await token(identity, 'Casev', 'a good long password')).statusCode, 429, 'five failures under five spellings locked the one account')
})

t.test('every login path shares the per-address budget: once the token endpoint refuses an address, Basic checks nothing from it', async (t) => {
  const { passwords, checks } = countingHasher()
  const identity = await referenceApp(t, { passwords, env: { LOGIN_RATE_LIMIT: '5/minute' } })
  const { app, createUser } = identity
  await createUser('jo', 'user', 'jo password 1234')
  for (let i = 0; i < 5; i++) t.equal((await token(identity, `guess-${i}`, 'wrong', '10.20.0.1')).statusCode, 400)
  t.equal((await token(identity, 'guess-5', 'wrong', '10.20.0.1')).statusCode, 429)
  const checked = checks()
  const guesses = await Promise.all(
    Array.from({ length: 20 }, async (_, i) => await app.inject({ url: '/users/me', headers: basic(`user-${i}`, 'wrong'), remoteAddress: '10.20.0.1' }))
  )
  t.same(statuses(guesses), { 429: 20 }, '20 Basic guesses at 20 user names: all refused')
  const right = await app.inject({ url: '/users/me', headers: basic('jo', 'jo password 1234'), remoteAddress: '10.20.0.1' })
  t.equal(right.statusCode, 429, 'even the right password is not checked from that address')
  t.match(right.headers['retry-after'], /^\d+$/)
  t.equal(checks(), checked, 'not one password checked')
  t.equal(
    (await app.inject({ url: '/users/me', headers: basic('jo', 'jo password 1234'), remoteAddress: '10.20.0.2' })).statusCode,
    200,
    'another address logs in'
  )
  for (let i = 0; i < 10; i++) {
    t.equal(
      (await app.inject({ url: '/users/me', headers: basic('jo', 'jo password 1234'), remoteAddress: '10.20.0.3' })).statusCode,
      200,
      'successes spend no budget'
    )
  }
  // An IPv6 host has a whole /64 to send from: the budget is the network's.
  for (let i = 1; i <= 5; i++) t.equal((await token(identity, `six-${i}`, 'wrong', `2001:db8:0:7::${i}`)).statusCode, 400)
  t.equal(
    (await app.inject({ url: '/users/me', headers: basic('jo', 'jo password 1234'), remoteAddress: '2001:db8:0:7:ffff::9' })).statusCode,
    429,
    'another address of the same /64 is out of budget too'
  )
  t.equal(
    (await app.inject({ url: '/users/me', headers: basic('jo', 'jo password 1234'), remoteAddress: '2001:db8:0:8::1' })).statusCode,
    200,
    'the next /64 is not'
  )
})

t.test('addresses are grouped as the clients that hold them: IPv4 one by one, IPv6 by /64', async (t) => {
  const { addressGroup } = await import('../../plugins/core/address.js')
  t.equal(addressGroup('192.0.2.7'), '192.0.2.7')
  t.equal(addressGroup('::ffff:192.0.2.7'), '192.0.2.7', 'an IPv4-mapped address is its IPv4 address')
  t.equal(addressGroup('2001:DB8:0:7:1:2:3:4'), '2001:db8:0:7::/64')
  t.equal(addressGroup('2001:db8::1'), '2001:db8:0:0::/64')
  t.equal(addressGroup('fe80::1%eth0'), 'fe80:0:0:0::/64')
  t.equal(addressGroup('::ffff:198.51.100.27'), '198.51.100.27', 'every octet of a mapped address, one digit or three')
  t.equal(addressGroup('64:ff9b::ffff:192.0.2.1'), '64:ff9b:0:0::/64', 'a mapped suffix inside another prefix is IPv6 (NAT64)')
  t.equal(addressGroup('::ffff:192.0.2.7.8'), '0:0:0:0::/64', 'only exactly a mapped address is IPv4')
  t.equal(addressGroup('2001:db8::5:6:7:8:9'), '2001:db8:0:5::/64', 'a :: standing for one group')
  t.equal(addressGroup('1::2:3:4'), '1:0:0:0::/64')
  t.equal(addressGroup('1:2:3::'), '1:2:3:0::/64', 'a trailing ::')
  t.equal(addressGroup('::1'), '0:0:0:0::/64', 'a leading ::')
  t.equal(addressGroup('::'), '0:0:0:0::/64')
  t.equal(addressGroup('::1'), '0:0:0:0::/64')
})

t.test('a lockout store that fails fails closed: 503, no password checked', async (t) => {
  const { passwords, checks } = countingHasher()
  const down = {
    reserve: async () => {
      throw new Error('connection refused')
    },
    release: async () => {},
    reset: async () => {},
    lockedFor: async () => 0
  }
  const identity = await referenceApp(t, { passwords, loginAttempts: down, lockout: {} })
  const res = await token(identity, 'admin', ADMIN_PASSWORD)
  t.equal(res.statusCode, 503)
  t.equal(res.headers['retry-after'], '5')
  t.equal((await identity.app.inject({ url: '/users/me', headers: basic('admin', ADMIN_PASSWORD) })).statusCode, 503, 'Basic too')
  t.equal(checks(), 0)
})

t.test('regression: the password-change route checks the current password through the login, so a stolen token guesses no faster there', async (t) => {
  const { passwords, checks } = countingHasher()
  const identity = await referenceApp(t, { passwords, lockout: { threshold: 3 } })
  const { app, createUser, login, bearer } = identity
  await createUser('pat', 'user', 'pat password 1234')
  const stolen = await login('pat', 'pat password 1234')
  const change = async (current: string) =>
    await app.inject({
      method: 'PUT',
      url: '/users/me/password',
      headers: bearer(stolen.access_token),
      payload: { current_password: current, new_password: 'chosen by the thief 1' }
    })
  for (let i = 0; i < 3; i++) t.equal((await change(`guess ${i}`)).statusCode, 400)
  const before = checks()
  const right = await change('pat password 1234')
  t.equal(right.statusCode, 429, 'the account is locked: even the right current password is not checked')
  t.equal(right.headers['retry-after'], '30')
  t.equal(right.headers['content-type'], 'application/problem+json; charset=utf-8')
  t.equal(checks(), before, 'no password checked')
  t.equal((await token(identity, 'pat', 'pat password 1234')).statusCode, 429, 'and the token endpoint sees the same lock')
})
