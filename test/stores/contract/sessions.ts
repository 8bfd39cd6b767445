import type { Test } from 'tap'
import { createHash } from 'node:crypto'
import type { FastifyRequest } from 'fastify'
import { createSessions, type ProofBinding, type Sessions } from '../../../plugins/oauth2-server/sessions.js'
import type { RefreshTokenStore, Revocation, SessionStore } from '../../../plugins/oauth2-server/session-store.js'
import type { AccessTokens } from '../../../plugins/oauth2-bearer/index.js'

/** A store under test, on the clock given; `purge` deletes what can no longer be used. */
export type RefreshTokenStoreFactory =
  (t: Test, now: () => number) => Promise<RefreshTokenStore & { purge (): Promise<number> }>

const DAY = 86_400_000
/** Instances racing for one token: each its own `Sessions` (its own one-at-a-time queue), one store. */
const IN_FLIGHT = 12

const accessTokens: AccessTokens = {
  dpop: undefined,
  expiresIn: 900,
  issuer: 'https://id.test',
  scheme: 'oauth2',
  scopes: new Set(['notes:read']),
  revocable: true,
  jwksPath: undefined,
  signs: true,
  sign: () => ({ token: 'at', jti: 'j', expiresIn: 900, expiresAt: 0 }),
  verify: async () => { throw new Error('not an access token') },
  jwks: () => ({ keys: [] })
}

/** A request whose log keeps the security events' names. */
function request (events: string[]): FastifyRequest {
  const log = (entry: { event: string }): void => { events.push(entry.event) }
  return { ip: '192.0.2.1', auth: null, log: { info: log, warn: log, error: log } } as never
}

interface Instances { all: Sessions[], events: string[], revoked: Revocation[] }

/** `IN_FLIGHT` instances of the library on one store, sharing their revocations. */
function instances (refreshTokens: RefreshTokenStore, now: () => number, reuseInterval: number): Instances {
  const revoked: Revocation[] = []
  const store: SessionStore = {
    refreshTokens,
    revocations: { revoke: async (r) => { revoked.push(...r) }, isRevoked: () => false }
  }
  const all = Array.from({ length: IN_FLIGHT },
    () => createSessions(accessTokens, store, { refreshTokenTtl: 3600, reuseInterval, now }))
  return { all, events: [], revoked }
}

/** Every instance presents `token` at once, as the token endpoint does: find, then refresh (with the key of a DPoP proof). */
async function presentAtOnce ({ all, events }: Instances, token: string, key?: ProofBinding): Promise<Array<string | undefined>> {
  return await Promise.all(all.map(async (sessions) => {
    const presented = await sessions.find(token)
    if (presented === null) return undefined
    const answer = await sessions.refresh(token, presented, async () => ['notes:read'], request(events), key)
    return answer?.refresh_token
  }))
}

/** The digest the library stores for a token (SHA-256, base64url). */
const digestOf = (token: string): string => createHash('sha256').update(token).digest('base64url')
const count = <T>(items: readonly T[], keep: (item: T) => boolean): number => items.filter(keep).length
/** A DPoP key's RFC 7638 thumbprint, as a family's `jkt`. */
const KEY = 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs'

/**
 * The contract of `RefreshTokenStore`, run against every implementation: its primitives, and the
 * reuse rule the library builds on them, with many presentations of one token in flight.
 */
export function refreshTokenStoreContract (t: Test, open: RefreshTokenStoreFactory): void {
  let clock = 1_800_000_000_000
  const now = (): number => clock
  const family = (subject: string, digest: string, ms = 60_000, credential?: number) => ({
    subject,
    scope: 'notes:read',
    clientId: 'app',
    expiresAt: new Date(clock + ms),
    digest,
    successorKey: 'k',
    ...(credential === undefined ? {} : { credential })
  })

  t.test('find reads a live token; rotate swaps it once; a revoked family is dead whole', async (t) => {
    const store = await open(t, now)
    const subject = 'auth0|5f7c8ec7c33c6c004bbafe82'
    const familyId = await store.createFamily(family(subject, 'r1'))
    const expected = { familyId, subject, scope: 'notes:read', clientId: 'app', credential: null, authTime: null, acr: null, jkt: null }
    t.same(await store.find('r1'), { ...expected, rotatedAt: null, successorKey: 'k' }, 'found, without rotating it')
    t.same(await store.rotate('r1', 'r2'), expected, 'a session belongs to any subject, not only a row of users')
    t.same(await store.find('r1'), { ...expected, rotatedAt: clock, successorKey: 'k' }, 'rotated, at the store\'s time')
    t.equal(await store.rotate('r1', 'r9'), null, 'not current any more: nothing swapped')
    t.equal(await store.find('r9'), null, 'and nothing added')
    t.same(await store.rotate('r2', 'r3'), expected)
    t.equal(await store.revokeFamily(familyId!, 'reuse'), true)
    t.equal(await store.revokeFamily(familyId!, 'reuse'), false, 'revoked once: the second call says it did not')
    t.equal(await store.find('r3'), null, 'nothing of a revoked family is live')
    t.equal(await store.rotate('r3', 'r4'), null, 'the newest token of a revoked family is dead too')
    t.equal(await store.rotate('unknown', 'x'), null)
    t.equal(await store.revokeFamily('00000000-0000-4000-8000-000000000000', 'reuse'), false)
  })

  t.test(`${IN_FLIGHT} concurrent swaps of one token: exactly one succeeds`, async (t) => {
    const store = await open(t, now)
    await store.createFamily(family('s', 'c1'))
    const swaps = await Promise.all(
      Array.from({ length: IN_FLIGHT }, async (_, i) => await store.rotate('c1', `c2-${i}`)))
    t.equal(count(swaps, (s) => s !== null), 1)
    const successors = await Promise.all(swaps.map(async (_, i) => await store.find(`c2-${i}`)))
    t.equal(count(successors, (s) => s !== null), 1, 'one successor stored')
  })

  t.test(`the rule, ${IN_FLIGHT} instances presenting one token at once, no reuse interval: one success, the family revoked`, async (t) => {
    const store = await open(t, now)
    const racing = instances(store, now, 0)
    const start = await racing.all[0].start({ subject: 's', scopes: ['notes:read'], clientId: 'app' }, true)
    const answers = await presentAtOnce(racing, start!.refresh_token!)
    t.equal(count(answers, (a) => a !== undefined), 1, 'exactly one presentation rotated the token')
    t.same(racing.events.sort(), ['auth.refresh.reuse_detected', 'auth.token.refreshed'], 'and one reported the reuse')
    t.equal(racing.revoked.length, 1, 'the session revoked once')
    const winner = answers.find((a) => a !== undefined)!
    t.equal(await racing.all[0].find(winner), null, 'RFC 9700 §4.14.2 as written: the winner\'s token dies with its family')
  })

  t.test(`the rule, ${IN_FLIGHT} instances retrying one token within the reuse interval: one rotation, one successor for all`, async (t) => {
    const store = await open(t, now)
    const racing = instances(store, now, 10)
    const start = await racing.all[0].start({ subject: 's', scopes: ['notes:read'], clientId: 'app' }, true)
    const answers = await presentAtOnce(racing, start!.refresh_token!)
    t.equal(new Set(answers).size, 1, 'every retry gets the same successor')
    t.not(answers[0], undefined)
    t.equal(count(racing.events, (e) => e === 'auth.token.refreshed'), IN_FLIGHT)
    t.same(racing.revoked, [], 'nothing revoked')
    t.match(await store.find(digestOf(answers[0]!)), { rotatedAt: null }, 'the successor is current')
    clock += 10_001
    t.same(await presentAtOnce(racing, start!.refresh_token!), Array(IN_FLIGHT).fill(undefined), 'past the interval: reuse')
    t.equal(count(racing.events, (e) => e === 'auth.refresh.reuse_detected'), 1, 'reported once')
    t.equal(await racing.all[0].find(answers[0]!), null, 'the successor died with its session')
  })

  t.test('the login\'s auth time, acr and key binding: as created, through find, rotations and a retry', async (t) => {
    const store = await open(t, now)
    const login = { authTime: 1_799_999_000, acr: 'urn:example:mfa', jkt: KEY }
    const familyId = await store.createFamily({ ...family('s', 'l1'), ...login })
    const expected = { familyId, subject: 's', scope: 'notes:read', clientId: 'app', credential: null, ...login }
    t.same(await store.find('l1'), { ...expected, rotatedAt: null, successorKey: 'k' })
    t.same(await store.rotate('l1', 'l2'), expected, 'the family the swap returns')
    t.same(await store.find('l1'), { ...expected, rotatedAt: clock, successorKey: 'k' }, 'a rotated token, as a retry reads it')
    t.same(await store.rotate('l2', 'l3'), expected, 'and the next rotation')
    t.same(await store.find('l3'), { ...expected, rotatedAt: null, successorKey: 'k' })

    // Through the library: what each access token is signed with, a retry within the interval included.
    const signed: Array<Record<string, unknown>> = []
    const tokens: AccessTokens = { ...accessTokens, sign: (claims) => { signed.push(claims); return accessTokens.sign(claims) } }
    const sessions = createSessions(tokens, { refreshTokens: store, revocations: { revoke: async () => {}, isRevoked: () => false } },
      { refreshTokenTtl: 3600, reuseInterval: 10, now })
    const grant = { subject: 's', scopes: ['notes:read'], clientId: 'app', authTime: login.authTime, acr: login.acr, jkt: login.jkt }
    const started = await sessions.start({ ...grant, bindRefresh: true }, true)
    const events: string[] = []
    const refresh = async (token: string) =>
      await sessions.refresh(token, (await sessions.find(token))!, async () => ['notes:read'], request(events), { jkt: login.jkt, bindRefresh: true })
    const first = await refresh(started!.refresh_token!)
    clock += 1000
    const retried = await refresh(started!.refresh_token!)
    t.equal(retried?.refresh_token, first?.refresh_token, 'a retry: the same successor')
    const second = await refresh(first!.refresh_token!)
    t.match(await sessions.find(second!.refresh_token!), { ...login, rotatedAt: null })
    t.equal(signed.length, 4)
    for (const claims of signed) {
      t.match(claims, { auth_time: login.authTime, acr: login.acr, cnf: { jkt: login.jkt } }, 'every token states the login and the key')
    }
    t.same(events, ['auth.token.refreshed', 'auth.token.refreshed', 'auth.token.refreshed'])

    const plain = await store.createFamily(family('s', 'p1'))
    const none = { credential: null, authTime: null, acr: null, jkt: null }
    t.same(await store.rotate('p1', 'p2'), { familyId: plain, subject: 's', scope: 'notes:read', clientId: 'app', ...none }, 'none given: null')
  })

  t.test('rotate with a key binds an unbound family in the same step; a bound family keeps its key', async (t) => {
    const store = await open(t, now)
    const familyId = await store.createFamily(family('s', 'b1'))
    t.match(await store.rotate('b1', 'b2', KEY), { familyId, jkt: KEY }, 'the family the swap returns is bound')
    t.match(await store.find('b1'), { jkt: KEY, rotatedAt: clock }, 'the family, so each of its tokens, the rotated one too')
    t.match(await store.find('b2'), { jkt: KEY, rotatedAt: null })
    t.match(await store.rotate('b2', 'b3', 'another key'), { jkt: KEY }, 'bound already: its key stays')
    t.match(await store.rotate('b3', 'b4'), { jkt: KEY }, 'and without a key too')
    t.equal(await store.rotate('b1', 'x', 'another key'), null, 'a swap that fails binds nothing')
    t.match(await store.find('b4'), { jkt: KEY })

    const raced = await store.createFamily(family('s', 'u1'))
    const swaps = await Promise.all(Array.from({ length: IN_FLIGHT }, async (_, i) => await store.rotate('u1', `u2-${i}`, `key-${i}`)))
    const winner = swaps.findIndex((swap) => swap !== null)
    t.equal(count(swaps, (swap) => swap !== null), 1)
    t.match(await store.find(`u2-${winner}`), { familyId: raced, jkt: `key-${winner}` }, 'of concurrent swaps with different keys, the one that swapped binds')
  })

  t.test(`the rule, ${IN_FLIGHT} instances retrying a public client's unbound token with its key: one rotation binds, retries answered alike`, async (t) => {
    const store = await open(t, now)
    const racing = instances(store, now, 10)
    const start = await racing.all[0].start({ subject: 's', scopes: ['notes:read'], clientId: 'app' }, true)
    const answers = await presentAtOnce(racing, start!.refresh_token!, { jkt: KEY, bindRefresh: true })
    t.equal(new Set(answers).size, 1, 'every retry gets the same successor')
    t.match(await store.find(digestOf(answers[0]!)), { jkt: KEY, rotatedAt: null }, 'bound to the key')
    t.same(racing.revoked, [], 'nothing revoked')
    t.same(await presentAtOnce(racing, start!.refresh_token!), Array(IN_FLIGHT).fill(undefined), 'a retry without the key: refused')
    t.same(await presentAtOnce(racing, start!.refresh_token!, { jkt: 'another key', bindRefresh: true }), Array(IN_FLIGHT).fill(undefined), 'or with another')
    t.same([racing.revoked, count(racing.events, (e) => e === 'auth.token.refreshed')], [[], IN_FLIGHT], 'neither revokes the session')
    t.match(await store.find(digestOf(answers[0]!)), { rotatedAt: null }, 'whose successor is current still')
  })

  t.test('expiry follows the store\'s clock', async (t) => {
    const store = await open(t, now)
    await store.createFamily(family('s', 'f1'))
    t.match(await store.find('f1'), { subject: 's' }, 'live before its expiry')
    clock += 60_000
    t.equal(await store.find('f1'), null, 'gone at its expiry')
    t.equal(await store.rotate('f1', 'f2'), null, 'and cannot be rotated')
  })

  t.test('revocation by token and by subject', async (t) => {
    const store = await open(t, now)
    const f1 = await store.createFamily(family('u', 'a1'))
    const f2 = await store.createFamily(family('u', 'b1'))
    await store.createFamily(family('u', 'old', -1))
    await store.createFamily(family('other', 'o1'))
    t.same(await store.revokeByToken('a1'), { familyId: f1, subject: 'u' })
    t.same(await store.revokeByToken('a1'), { familyId: f1, subject: 'u' }, 'a revoked family is still named')
    t.equal(await store.rotate('a1', 'a2'), null)
    t.equal(await store.revokeByToken('nope'), null)
    t.same(await store.revokeSubject('u', 'password changed'), [f2], 'the live families only')
    t.equal(await store.rotate('b1', 'b2'), null)
    t.match(await store.find('o1'), { subject: 'other' }, 'another subject\'s session goes on')
  })

  t.test('credential versions: a change revokes the older sessions and refuses logins that checked an older one', async (t) => {
    const store = await open(t, now)
    const old = await store.createFamily(family('u', 'v3', 60_000, 3))
    const bare = await store.createFamily(family('u', 'none'))
    t.equal(await store.isCurrent('u', 3), true)
    const changed = await store.revokeSubject('u', 'password changed', 4)
    t.same(changed.sort(), [old, bare].sort(), 'the older families, and those of no version')
    t.same([await store.isCurrent('u', 3), await store.isCurrent('u', 4)], [false, true])
    t.equal(await store.createFamily(family('u', 'late', 60_000, 3)), null, 'a login that checked version 3: no session')
    const fresh = await store.createFamily(family('u', 'v4', 60_000, 4))
    t.match(await store.find('v4'), { familyId: fresh, credential: 4 })
    t.same(await store.revokeSubject('u', 'deleted', null), [fresh], 'gone: every family')
    t.equal(await store.createFamily(family('u', 'v9', 60_000, 9)), null, 'no version reaches a subject that is gone')
    t.equal(await store.isCurrent('unknown', 1), true, 'none recorded')
  })

  t.test('purge deletes what can no longer be used; a family revoked today stays, so reuse is still recognised', async (t) => {
    const store = await open(t, now)
    const live = await store.createFamily(family('u', 'l1', 3 * DAY))
    await store.createFamily(family('u', 'expired', 60_000))
    const long = await store.createFamily(family('u', 'r1', 3 * DAY))
    await store.revokeFamily(long!, 'revoked')
    clock += DAY + 1
    const today = await store.createFamily(family('u', 't1', 3 * DAY))
    await store.revokeFamily(today!, 'reuse')
    t.equal(await store.purge(), 2, 'the expired family and the one revoked a day ago')
    t.same(await store.revokeByToken('l1'), { familyId: live, subject: 'u' })
    t.same(await store.revokeByToken('t1'), { familyId: today, subject: 'u' })
    t.same([await store.revokeByToken('r1'), await store.revokeByToken('expired')], [null, null], 'deleted with their tokens')
  })
}
