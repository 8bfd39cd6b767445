import t from 'tap'
import { testDatabase, postgresSkip, closeSharedDatabase, type Backend } from '../helpers/services.js'
import { sqlUserStore } from '../../app/users.js'
import { DuplicateError } from '../../app/errors.js'
import { ROLES } from '../../app/schemas/scopes.js'

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
    t.same(await users.findByUsername(' ALICE'), alice, 'user names are found by their canonical form (issue 17: Ada and ada were two accounts)')
    await t.rejects(
      users.create({ username: 'Alice', email: 'alice.again@example.com', passwordHash: 'h', role: 'user' }),
      new DuplicateError('username'),
      'and unique by it'
    )
    t.equal(await users.findById('not-a-uuid'), null)
    await t.rejects(users.create({ username: 'alice', email: 'other@example.com', passwordHash: 'h', role: 'user' }), new DuplicateError('username'))
    await t.rejects(users.create({ username: 'alice2', email: 'alice@example.com', passwordHash: 'h', role: 'user' }), new DuplicateError('email'))
    const bob = await users.create({ username: 'bob', email: 'bob@example.com', passwordHash: 'h', role: 'user' })
    t.same(
      (await users.list({ limit: 10, offset: 0 })).map((u) => u.username),
      ['alice', 'bob']
    )
    t.same(
      (await users.list({ limit: 1, offset: 1 })).map((u) => u.username),
      ['bob']
    )

    const before = (await users.findById(bob.id))!.passwordChangedAt
    const version = bob.credentialVersion
    t.equal(await users.rehash(bob.id, 'h', 'rehashed'), true)
    t.equal((await users.findById(bob.id))!.credentialVersion, version, 'a rehash keeps the credential version')
    t.equal(await users.rehash(bob.id, 'h', 'stale'), false, 'a rehash over a hash that is no longer stored changes nothing')
    t.equal((await users.findById(bob.id))!.passwordHash, 'rehashed')
    t.same((await users.findById(bob.id))!.passwordChangedAt, before, 'a rehash is not a password change')
    // Compared in the database, at its microsecond precision: no sleep needed.
    const [{ at }] = await db.query<{ at: string }>('SELECT password_changed_at::text AS at FROM users WHERE id = $1', [bob.id])
    t.equal(await users.changePassword(bob.id, 'changed'), version + 1, 'a change makes a new one')
    t.equal((await users.findById(bob.id))!.passwordHash, 'changed')
    t.equal((await users.findById(bob.id))!.credentialVersion, version + 1)
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
    const hostile = ["' OR 1=1--", "'; DROP TABLE users;--", 'Robert"); DROP TABLE api_keys;--', '$1', "\\'"]
    for (const [i, text] of hostile.entries()) {
      const user = await users.create({ username: text, email: `${text}@x${i}.test`, passwordHash: text, role: 'user' })
      t.equal((await users.findByUsername(text))?.id, user.id)
    }
    t.equal(await users.findByUsername("' OR '1'='1"), null)
    t.equal(await users.count(), hostile.length, 'every table is still there and holds exactly what was written')
    await db.close()
  })

  t.test(`${backend}: the users table accepts exactly the roles the API defines`, { skip: skip[backend] }, async (t) => {
    const db = await testDatabase(t, backend)
    const users = sqlUserStore(db)
    // Migration 1's CHECK constraint is the database's record of ROLE_SCOPES: they must agree.
    for (const [i, role] of ROLES.entries()) {
      t.equal((await users.create({ username: `role${i}`, email: `role${i}@example.com`, passwordHash: 'h', role })).role, role)
    }
    await t.rejects(
      users.create({ username: 'root', email: 'root@example.com', passwordHash: 'h', role: 'root' as never }),
      'a role the API does not define is refused by the database'
    )
    t.equal(await users.count(), ROLES.length)
    await db.close()
  })
}
