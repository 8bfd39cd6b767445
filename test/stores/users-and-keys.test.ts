import t from 'tap'
import { testDatabase, postgresSkip, closeSharedDatabase, type Backend } from '../helpers/services.js'
import { sqlUserStore } from '../../stores/users.js'
import { sqlApiKeyStore } from '../../stores/api-keys.js'
import { DuplicateError } from '../../stores/errors.js'

t.teardown(closeSharedDatabase)
const skip: Record<Backend, string | false> = { pglite: false, postgres: await postgresSkip() }

for (const backend of ['pglite', 'postgres'] as const) {
  t.test(`${backend}: users`, { skip: skip[backend] }, async (t) => {
    const db = await testDatabase(t, backend)
    const users = sqlUserStore(db)
    t.equal(await users.count(), 0)
    const alice = await users.create({ username: 'alice', email: 'alice@example.com', passwordHash: '$argon2id$x', role: 'admin' })
    t.match(alice, { username: 'alice', email: 'alice@example.com', role: 'admin', active: true, passwordHash: '$argon2id$x' })
    t.match(alice.id, /^[0-9a-f-]{36}$/)
    t.type(alice.createdAt, Date)
    t.same(await users.findById(alice.id), alice)
    t.same(await users.findByUsername('alice'), alice)
    t.equal(await users.findByUsername('Alice'), null, 'user names are exact')
    t.equal(await users.findById('not-a-uuid'), null)
    await t.rejects(users.create({ username: 'alice', email: 'other@example.com', passwordHash: 'h', role: 'user' }), new DuplicateError('username'))
    await t.rejects(users.create({ username: 'alice2', email: 'alice@example.com', passwordHash: 'h', role: 'user' }), new DuplicateError('email'))
    const bob = await users.create({ username: 'bob', email: 'bob@example.com', passwordHash: 'h', role: 'user' })
    t.same((await users.list({ limit: 10, offset: 0 })).map((u) => u.username), ['alice', 'bob'])
    t.same((await users.list({ limit: 1, offset: 1 })).map((u) => u.username), ['bob'])

    const before = (await users.findById(bob.id))!.passwordChangedAt
    await users.setPasswordHash(bob.id, 'rehashed', false)
    t.same((await users.findById(bob.id))!.passwordChangedAt, before, 'a rehash is not a password change')
    // Compared in the database, at its microsecond precision: no sleep needed.
    const [{ at }] = await db.query<{ at: string }>('SELECT password_changed_at::text AS at FROM users WHERE id = $1', [bob.id])
    await users.setPasswordHash(bob.id, 'changed', true)
    t.equal((await users.findById(bob.id))!.passwordHash, 'changed')
    const [moved] = await db.query<{ moved: boolean }>('SELECT password_changed_at > $2::timestamptz AS moved FROM users WHERE id = $1', [bob.id, at])
    t.equal(moved.moved, true, 'a password change moves passwordChangedAt')

    t.equal(await users.delete(bob.id), true)
    t.equal(await users.delete(bob.id), false)
    t.equal(await users.count(), 1)
    await db.close()
  })

  t.test(`${backend}: SQL injection strings are stored verbatim, never executed`, { skip: skip[backend] }, async (t) => {
    const db = await testDatabase(t, backend)
    const users = sqlUserStore(db)
    const hostile = ["' OR 1=1--", "'; DROP TABLE users;--", 'Robert"); DROP TABLE api_keys;--', '$1', '\\\'']
    for (const [i, text] of hostile.entries()) {
      const user = await users.create({ username: text, email: `${text}@x${i}.test`, passwordHash: text, role: 'user' })
      t.equal((await users.findByUsername(text))?.id, user.id)
    }
    t.equal(await users.findByUsername("' OR '1'='1"), null)
    t.equal(await users.count(), hostile.length, 'every table is still there and holds exactly what was written')
    await db.close()
  })

  t.test(`${backend}: API keys`, { skip: skip[backend] }, async (t) => {
    const db = await testDatabase(t, backend)
    const users = sqlUserStore(db)
    const keys = sqlApiKeyStore(db)
    const alice = await users.create({ username: 'alice', email: 'a@example.com', passwordHash: 'h', role: 'moderator' })
    const bob = await users.create({ username: 'bob', email: 'b@example.com', passwordHash: 'h', role: 'user' })
    const expiresAt = new Date(Date.now() + 86_400_000)
    const key = await keys.create({ subject: alice.id, name: 'ci', prefix: 'AbCd1234', digest: 'digest-1', scopes: ['users:read'], expiresAt })
    t.match(key, { subject: alice.id, name: 'ci', prefix: 'AbCd1234', scopes: ['users:read'], lastUsedAt: null, requestCount: 0 })
    t.equal(key.expiresAt?.getTime(), expiresAt.getTime())
    t.same(await keys.findByPrefix('AbCd1234'), { id: key.id, digest: 'digest-1', subject: alice.id, scopes: ['users:read'], expiresAt: Math.floor(expiresAt.getTime() / 1000) }, 'the record the apiKey scheme takes, expiry in seconds')
    t.notOk('digest' in (await keys.listBySubject(alice.id))[0], 'listings carry no digest')

    const t1 = new Date(Date.now() - 2000)
    const t2 = new Date(Date.now() - 1000)
    await keys.recordUses([{ id: key.id, count: 3, lastUsedAt: t2 }])
    await keys.recordUses([{ id: key.id, count: 2, lastUsedAt: t1 }])
    const [listed] = await keys.listBySubject(alice.id)
    t.equal(listed.requestCount, 5)
    t.equal(listed.lastUsedAt?.getTime(), t2.getTime(), 'last use never moves back')

    t.equal(await keys.revoke(bob.id, key.id), null, "another user's key cannot be revoked")
    t.equal(await keys.revoke(alice.id, key.id), 'AbCd1234')
    t.equal(await keys.revoke(alice.id, key.id), null)
    t.equal(await keys.findByPrefix('AbCd1234'), null, 'a revoked key is not found')
    t.same(await keys.listBySubject(alice.id), [])
    t.equal(await keys.revoke(alice.id, 'nope'), null)

    await keys.create({ subject: bob.id, name: 'x', prefix: 'Zz999999', digest: 'd', scopes: [], expiresAt: null })
    await keys.create({ subject: bob.id, name: 'y', prefix: 'Yy999999', digest: 'd', scopes: [], expiresAt: null })
    t.same((await keys.revokeSubject(bob.id)).sort(), ['Yy999999', 'Zz999999'], 'every key of a subject, at once')
    t.equal(await keys.findByPrefix('Zz999999'), null)
    await keys.create({ subject: 'svc|nightly-export', name: 'any subject', prefix: 'Xx999999', digest: 'd', scopes: [], expiresAt: null })
    t.match(await keys.findByPrefix('Xx999999'), { subject: 'svc|nightly-export' }, 'a key may belong to any subject, not only a row of users')
    await db.close()
  })
}
