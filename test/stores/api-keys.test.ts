import t from 'tap'
import { testDatabase, postgresSkip, closeSharedDatabase, type Backend } from '../helpers/services.js'
import { sqlUserStore } from '../../app/users.js'
import { sqlApiKeyStore } from '../../stores/sql/api-keys.js'

t.teardown(closeSharedDatabase)
const skip: Record<Backend, string | false> = { pglite: false, postgres: await postgresSkip() }

for (const backend of ['pglite', 'postgres'] as const) {
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
    t.same(
      await keys.findByPrefix('AbCd1234'),
      { id: key.id, digest: 'digest-1', subject: alice.id, scopes: ['users:read'], expiresAt: Math.floor(expiresAt.getTime() / 1000) },
      'the record the apiKey scheme takes, expiry in seconds'
    )
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
