import t, { type Test } from 'tap'
import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import { identityApp, form, ADMIN_PASSWORD } from '../helpers/identity.js'
import { closeSharedDatabase, redisSkip, REDIS_URL } from '../helpers/services.js'
import { redisLoginAttempts } from '../../plugins/oauth2-server/lockout-redis.js'
import { memoryLoginAttempts, type LoginAttempts } from '../../plugins/index.js'

t.teardown(closeSharedDatabase)

t.test('consecutive failed logins lock the account for a growing delay; success and an admin reset it', async (t) => {
  let now = Date.now()
  const attempts = memoryLoginAttempts({ threshold: 3, baseDelay: 30_000, now: () => now })
  const { app, login, bearer, createUser, stores } = await identityApp(t, { loginAttempts: attempts })
  await createUser('erin', 'user', 'erin password 123')
  const token = async (username: string, password: string) => await app.inject({ method: 'POST', url: '/auth/token', ...form({ grant_type: 'password', username, password }), remoteAddress: `10.9.${Math.floor(Math.random() * 250)}.1` })

  for (let i = 0; i < 3; i++) {
    const res = await token('erin', 'wrong')
    t.equal(res.statusCode, 400)
    t.same(res.json(), { error: 'invalid_grant', error_description: 'Invalid username or password.' }, 'the generic answer, from any address')
  }
  const locked = await token('erin', 'erin password 123')
  t.equal(locked.statusCode, 429, 'locked: even the right password waits')
  t.equal(locked.headers['retry-after'], '30')
  t.equal(locked.headers['content-type'], 'application/problem+json; charset=utf-8')
  const basic = await app.inject({ url: '/users/me', headers: { authorization: 'Basic ' + Buffer.from('erin:erin password 123').toString('base64') } })
  t.equal(basic.statusCode, 401, 'Basic is refused during the lock too')

  now += 31_000
  t.equal((await token('erin', 'wrong')).statusCode, 400)
  t.equal((await token('erin', 'erin password 123')).headers['retry-after'], '60', 'the next lock is twice as long')

  const admin = await login()
  const erin = await stores.users.findByUsername('erin')
  t.equal((await app.inject({ method: 'DELETE', url: `/users/${erin!.id}/lockout`, headers: bearer(admin.access_token) })).statusCode, 204)
  t.equal((await token('erin', 'erin password 123')).statusCode, 200, 'an administrator lifted the lock')
  for (let i = 0; i < 2; i++) await token('erin', 'wrong')
  t.equal((await token('erin', 'erin password 123')).statusCode, 200, 'a success resets the count')
  t.equal((await app.inject({ method: 'DELETE', url: `/users/${randomUUID()}/lockout`, headers: bearer(admin.access_token) })).statusCode, 404)
})

t.test('failed Basic logins count toward the same lock', async (t) => {
  const { app, createUser } = await identityApp(t, { loginAttempts: memoryLoginAttempts({ threshold: 3 }) })
  await createUser('frank', 'user', 'frank password 123')
  const basic = (password: string) => ({ authorization: 'Basic ' + Buffer.from(`frank:${password}`).toString('base64') })
  for (let i = 0; i < 3; i++) t.equal((await app.inject({ url: '/users/me', headers: basic('guess ' + i) })).statusCode, 401)
  const token = await app.inject({ method: 'POST', url: '/auth/token', ...form({ grant_type: 'password', username: 'frank', password: 'frank password 123' }) })
  t.equal(token.statusCode, 429, 'three wrong Basic passwords locked the account for the token endpoint too')
})

t.test('unknown user names lock the same way, so a lock tells nothing about an account', async (t) => {
  const attempts = memoryLoginAttempts({ threshold: 2 })
  const { app } = await identityApp(t, { loginAttempts: attempts })
  const token = async (username: string) => await app.inject({ method: 'POST', url: '/auth/token', ...form({ grant_type: 'password', username, password: 'wrong' }) })
  for (const username of ['admin', 'nobody-here']) {
    await token(username)
    await token(username)
    const res = await token(username)
    t.equal(res.statusCode, 429, username)
    t.equal(res.headers['retry-after'], '30', username)
  }
  t.equal(await attempts.lockedFor('ADMIN'), 30, 'user names are compared case-insensitively')
  const right = await app.inject({ method: 'POST', url: '/auth/token', ...form({ grant_type: 'password', username: 'admin', password: ADMIN_PASSWORD }) })
  t.equal(right.statusCode, 429, 'while locked, even the right password is not checked')
})

async function behaves (t: Test, attempts: LoginAttempts) {
  t.equal(await attempts.lockedFor('u'), 0)
  t.equal(await attempts.fail('u'), 0)
  t.equal(await attempts.fail('u'), 2, 'threshold 2: locked for 2 s')
  t.equal(await attempts.lockedFor('u'), 2)
  t.equal(await attempts.fail('u'), 4)
  await attempts.reset('u')
  t.equal(await attempts.lockedFor('u'), 0)
  t.equal(await attempts.fail('u'), 0)
}

t.test('memory store: bounded, and failures are forgotten after a quiet day', async (t) => {
  let now = 0
  await behaves(t, memoryLoginAttempts({ threshold: 2, baseDelay: 2000, now: () => now }))
  const small = memoryLoginAttempts({ threshold: 1, max: 2, now: () => now })
  await small.fail('a'); await small.fail('b'); await small.fail('c')
  t.equal(await small.lockedFor('a'), 0, 'the oldest account was dropped at the bound')
  t.equal(await small.lockedFor('c'), 30)
  const forgetting = memoryLoginAttempts({ threshold: 2, now: () => now })
  await forgetting.fail('u')
  now += 86_400_001
  t.equal(await forgetting.fail('u'), 0, 'a failure a day later starts a new count')
})

t.test('Redis store: shared by every instance', { skip: await redisSkip() }, async (t) => {
  const redis = new Redis(REDIS_URL)
  t.teardown(() => redis.disconnect())
  const namespace = `test-${randomUUID()}`
  await behaves(t, redisLoginAttempts(redis, { threshold: 2, baseDelay: 2000, namespace }))
  const one = redisLoginAttempts(redis, { threshold: 1, namespace })
  const two = redisLoginAttempts(redis, { threshold: 1, namespace })
  await one.fail('shared')
  t.equal(await two.lockedFor('shared'), 30)
})
