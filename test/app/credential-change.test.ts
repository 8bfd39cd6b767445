import t from 'tap'
import { setTimeout as sleep } from 'node:timers/promises'
import { referenceApp, form, fastPasswords, type ReferenceApp } from '../helpers/reference-app.js'
import { closeSharedDatabase, postgresSkip, testDatabase, type Backend } from '../helpers/services.js'
import { createPasswordHasher, type PasswordHasher } from '../../plugins/index.js'

t.teardown(closeSharedDatabase)

/**
 * The tests' hasher with a gate: while held, every password check waits at the gate after its
 * login has read the user (hash and credential version), as a real check is busy hashing.
 */
function gatedHasher (): { passwords: PasswordHasher; hold: () => void; pass: () => void; waiting: (n: number) => Promise<void>; open: () => void } {
  let holding = false
  const held: Array<() => void> = []
  const passwords: PasswordHasher = {
    ...fastPasswords,
    async verify (hash, password) {
      if (holding) await new Promise<void>((resolve) => held.push(resolve))
      return await fastPasswords.verify(hash, password)
    }
  }
  return {
    passwords,
    hold: () => {
      holding = true
    },
    /** New checks pass; those held stay held. */
    pass: () => {
      holding = false
    },
    async waiting (n) {
      while (held.length < n) await sleep(2)
    },
    open () {
      holding = false
      for (const go of held.splice(0)) go()
    }
  }
}

const basic = (username: string, password: string) => ({ authorization: 'Basic ' + Buffer.from(`${username}:${password}`).toString('base64') })
const statuses = (responses: Array<{ statusCode: number }>): number[] => [...new Set(responses.map((r) => r.statusCode))]
const liveSessions = async ({ stores }: ReferenceApp, subject: string): Promise<number> =>
  (await stores.db.query<{ n: number }>('SELECT count(*)::int AS n FROM warden_refresh_families WHERE subject = $1 AND revoked_at IS NULL', [subject]))[0].n

const skip: Record<Backend, string | false> = { pglite: false, postgres: await postgresSkip() }
for (const backend of ['pglite', 'postgres'] as const) {
  t.test(`${backend}: a password change wins over the logins checking the old password at that moment`, { skip: skip[backend] }, async (t) => {
    const gate = gatedHasher()
    const identity = await referenceApp(t, { database: await testDatabase(t, backend), passwords: gate.passwords })
    const { app, login, bearer, createUser } = identity
    const kim = await createUser('kim', 'user', 'old password 123')
    const session = await login('kim', 'old password 123')

    gate.hold()
    const tokens = Array.from(
      { length: 10 },
      async () => await app.inject({ method: 'POST', url: '/auth/token', ...form({ grant_type: 'password', username: 'kim', password: 'old password 123' }) })
    )
    const basics = Array.from({ length: 5 }, async () => await app.inject({ url: '/users/me', headers: basic('kim', 'old password 123') }))
    await gate.waiting(15)
    gate.pass()
    const change = await app.inject({
      method: 'PUT',
      url: '/users/me/password',
      headers: bearer(session.access_token),
      payload: { current_password: 'old password 123', new_password: 'new password 456' }
    })
    t.equal(change.statusCode, 204)
    gate.open()
    t.same(statuses(await Promise.all(tokens)), [400], 'every login that had checked the old password is refused')
    t.same(statuses(await Promise.all(basics)), [401], 'and so is every Basic request that had')
    t.equal(await liveSessions(identity, kim.id), 0, 'no session outlives the change')
    t.equal(
      (await app.inject({ method: 'POST', url: '/auth/token', ...form({ grant_type: 'refresh_token', refresh_token: session.refresh_token }) })).statusCode,
      400
    )
    t.match(await login('kim', 'new password 456'), { token_type: 'Bearer' }, 'the new password logs in')
    t.equal(await liveSessions(identity, kim.id), 1)
  })

  t.test(`${backend}: a deletion wins over the logins in flight for the account`, { skip: skip[backend] }, async (t) => {
    const gate = gatedHasher()
    const identity = await referenceApp(t, { database: await testDatabase(t, backend), passwords: gate.passwords })
    const { app, login, bearer, createUser } = identity
    const lee = await createUser('lee', 'moderator', 'lee password 123')
    const admin = await login()

    gate.hold()
    const tokens = Array.from(
      { length: 10 },
      async () => await app.inject({ method: 'POST', url: '/auth/token', ...form({ grant_type: 'password', username: 'lee', password: 'lee password 123' }) })
    )
    const basics = Array.from({ length: 5 }, async () => await app.inject({ url: '/users', headers: basic('lee', 'lee password 123') }))
    await gate.waiting(15)
    gate.pass()
    t.equal((await app.inject({ method: 'DELETE', url: `/users/${lee.id}`, headers: bearer(admin.access_token) })).statusCode, 204)
    gate.open()
    t.same(statuses(await Promise.all(tokens)), [400], 'no token for a deleted account, though its password was right when checked')
    t.same(statuses(await Promise.all(basics)), [401], 'no users:read over Basic either')
    t.equal(await liveSessions(identity, lee.id), 0)
  })
}

t.test('regression: a login that upgrades an old hash while the password changes does not put the old password back', async (t) => {
  const gate = gatedHasher()
  const identity = await referenceApp(t, { passwords: gate.passwords })
  const { app, login, bearer, stores } = identity
  // Made with other argon2 parameters than the app's: the next login rehashes it.
  const old = await createPasswordHasher({ memoryCost: 2048, timeCost: 1 }).hash('old password 123')
  await stores.users.create({ username: 'olga', email: 'olga@example.com', passwordHash: old, role: 'user' })
  const session = await login('olga', 'old password 123')
  const rehashed = (await stores.users.findByUsername('olga'))!.passwordHash
  t.not(rehashed, old, 'the first login upgraded the hash')
  await stores.db.query('UPDATE users SET password_hash = $1 WHERE username = $2', [old, 'olga'])

  gate.hold()
  const racing = app.inject({ method: 'POST', url: '/auth/token', ...form({ grant_type: 'password', username: 'olga', password: 'old password 123' }) })
  await gate.waiting(1)
  gate.pass()
  t.equal(
    (
      await app.inject({
        method: 'PUT',
        url: '/users/me/password',
        headers: bearer(session.access_token),
        payload: { current_password: 'old password 123', new_password: 'new password 456' }
      })
    ).statusCode,
    204
  )
  gate.open()
  t.equal((await racing).statusCode, 400, 'the racing login gets nothing')
  const token = async (password: string) =>
    (await app.inject({ method: 'POST', url: '/auth/token', ...form({ grant_type: 'password', username: 'olga', password }) })).statusCode
  t.equal(await token('old password 123'), 400, 'and its rehash did not bring the old password back')
  t.equal(await token('new password 456'), 200)
})

t.test('a credential version recorded by a change is kept; a login reporting a newer one records it', async (t) => {
  const identity = await referenceApp(t)
  const { stores } = identity
  const subject = 'subject-1'
  const family = (credential?: number) => ({
    subject,
    scope: '',
    clientId: 'public',
    expiresAt: new Date(Date.now() + 60_000),
    digest: `d-${Math.random()}`,
    successorKey: 'k',
    ...(credential === undefined ? {} : { credential })
  })
  t.type(await stores.refreshTokens.createFamily(family(3)), 'string', 'the first login of a subject records its version')
  t.equal(await stores.refreshTokens.isCurrent(subject, 3), true)
  t.same(
    await stores.refreshTokens.revokeSubject(subject, 'password changed', 4),
    [(await stores.db.query<{ id: string }>('SELECT id FROM warden_refresh_families WHERE subject = $1', [subject]))[0].id],
    'the older family is revoked'
  )
  t.equal(await stores.refreshTokens.createFamily(family(3)), null, 'an older version starts nothing')
  t.equal(await stores.refreshTokens.isCurrent(subject, 3), false)
  const newer = await stores.refreshTokens.createFamily(family(5))
  t.type(newer, 'string', 'a newer one does, and becomes the current one')
  t.same(await stores.refreshTokens.revokeSubject(subject, 'late message', 4), [], 'a change reported late (an older version) revokes nothing newer')
  t.equal(await stores.refreshTokens.isCurrent(subject, 5), true)
  t.type(await stores.refreshTokens.createFamily(family()), 'string', 'a verifier that reports no version is not held to one')
  t.same((await stores.refreshTokens.revokeSubject(subject, 'user deleted', null)).length, 2, 'gone: every family ends, those without a version too')
  t.equal(await stores.refreshTokens.createFamily(family(Number.MAX_SAFE_INTEGER)), null, 'and no version comes back from it')
})
