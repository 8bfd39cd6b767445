import t from 'tap'
import { refreshTokenStoreContract } from './contract/sessions.js'
import { memoryRefreshTokenStore, memorySessionStore, memoryRevocations } from '../../stores/index.js'

refreshTokenStoreContract(t, async (_, now) => memoryRefreshTokenStore({ now }))

t.test('bounded: when full, the unusable go first, then the oldest families', async (t) => {
  let clock = 0
  const store = memoryRefreshTokenStore({ max: 4, now: () => clock })
  const family = (digest: string, expiresAt: number) =>
    ({ subject: 's', scope: '', clientId: 'app', expiresAt: new Date(expiresAt), digest, successorKey: 'k' })
  const expiring = await store.createFamily(family('e1', 10))
  const oldest = await store.createFamily(family('a1', 1000))
  await store.createFamily(family('b1', 1000))
  await store.rotate('b1', 'b2')
  t.equal(store.size, 4)
  clock = 10
  await store.createFamily(family('c1', 1000))
  t.equal(store.size, 4, 'never more digests than max')
  t.equal(await store.revokeFamily(expiring!, 'x'), false, 'the expired family went first')
  t.match(await store.find('a1'), { familyId: oldest }, 'the oldest live one stays while there is room')
  await store.createFamily(family('d1', 1000))
  t.equal(await store.find('a1'), null, 'then the oldest family is dropped')
  t.match(await store.rotate('d1', 'd2'), { subject: 's' }, 'a rotation makes room too')
  t.equal(store.size, 3, 'by dropping the oldest family whole (b1 and b2)')
  t.equal(await store.find('b2'), null)
  t.match(await store.find('d2'), { rotatedAt: null }, 'never by dropping the family it rotates')
})

t.test('credential versions are forgotten a day after their last change, once their subject has no family', async (t) => {
  let clock = 0
  const store = memoryRefreshTokenStore({ now: () => clock })
  await store.revokeSubject('gone', 'deleted', null)
  await store.createFamily({
    subject: 'kept', scope: '', clientId: 'app', expiresAt: new Date(10 * 86_400_000), digest: 'k1', successorKey: 'k', credential: 2
  })
  clock = 86_400_000
  await store.purge()
  t.equal(await store.isCurrent('gone', 1), true, 'gone a day ago: no login of theirs is in flight')
  t.equal(await store.isCurrent('kept', 1), false, 'a subject with a family keeps its version')
})

t.test('memorySessionStore: revocations in force until their end, on the store\'s clock', async (t) => {
  let clock = 1_000_000
  const sessions = memorySessionStore({ now: () => clock })
  await sessions.revocations.revoke([{ kind: 'sid', id: 'f1', expiresAt: 1030 }, { kind: 'jti', id: 'j1', expiresAt: 1010 }])
  await sessions.revocations.revoke([{ kind: 'jti', id: 'j1', expiresAt: 1005 }])
  t.same([sessions.isRevoked({ sid: 'f1' }), sessions.isRevoked({ jti: 'j1' }), sessions.isRevoked({ jti: 'f1' })], [true, true, false])
  clock += 10_000
  t.same([sessions.isRevoked({ sid: 'f1' }), sessions.isRevoked({ jti: 'j1' })], [true, false], 'a shorter revocation never shortens one')
  t.equal(sessions.isRevoked({}), false)
  t.equal(sessions.refreshTokens.now(), clock)

  const list = memoryRevocations(() => clock)
  await list.revoke(Array.from({ length: 999 }, (_, i) => ({ kind: 'jti' as const, id: `old-${i}`, expiresAt: 1000 })))
  await list.revoke([{ kind: 'jti', id: 'new', expiresAt: 2000 }])
  t.equal(list.size, 1, 'the expired leave as the list grows')
  t.equal(list.isRevoked({ jti: 'new' }), true)
})

t.test('regression: one session rotated again and again neither grows the store past max nor ends the others', async (t) => {
  const store = memoryRefreshTokenStore({ max: 200 })
  const family = (subject: string, digest: string) =>
    ({ subject, scope: '', clientId: 'app', expiresAt: new Date(Date.now() + 86_400_000), digest, successorKey: 'k' })
  for (let i = 0; i < 5; i++) await store.createFamily(family(`victim-${i}`, `v${i}`))
  const attacker = await store.createFamily(family('attacker', 'a0'))
  let rotated = 0
  while (rotated < 500 && await store.rotate(`a${rotated}`, `a${rotated + 1}`) !== null) {
    rotated++
    if (rotated === 150) t.match(await store.find('a1'), { familyId: attacker, rotatedAt: Number }, 'a token 149 rotations old is still known (reuse)')
  }
  t.equal(rotated, 194, 'rotations go on until the store is full')
  t.ok(store.size <= 200, `never past max (${store.size} held)`)
  t.equal(await store.find(`a${rotated}`), null, 'then the session past its share ends, not another')
  for (let i = 0; i < 5; i++) t.match(await store.find(`v${i}`), { subject: `victim-${i}` }, `victim ${i}'s session lives`)
})

t.test('regression: a token rotated 64 times and more ago is still recognised, so its reuse ends the session', async (t) => {
  const store = memoryRefreshTokenStore()
  const family = await store.createFamily({
    subject: 'ann', scope: '', clientId: 'app', expiresAt: new Date(Date.now() + 86_400_000), digest: 't0', successorKey: 'k'
  })
  for (let i = 0; i < 100; i++) await store.rotate(`t${i}`, `t${i + 1}`)
  t.match(await store.find('t0'), { familyId: family, rotatedAt: Number }, 'the first token, 100 rotations ago')
})

t.test('when full, the least recently used sessions go first: a session in use outlives idle ones', async (t) => {
  const store = memoryRefreshTokenStore({ max: 3 })
  const family = (subject: string, digest: string) =>
    ({ subject, scope: '', clientId: 'app', expiresAt: new Date(Date.now() + 86_400_000), digest, successorKey: 'k' })
  await store.createFamily(family('active', 'x1'))
  await store.createFamily(family('idle', 'y1'))
  await store.rotate('x1', 'x2')
  t.equal(store.size, 3)
  await store.createFamily(family('new', 'z1'))
  t.equal(await store.find('y1'), null, 'the idle session was dropped')
  t.match(await store.find('x2'), { subject: 'active' }, 'the one rotated since lives on')
})
