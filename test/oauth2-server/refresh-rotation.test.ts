import t from 'tap'
import type { FastifyRequest } from 'fastify'
import { createSessions, isRefreshToken, REFRESH_TOKEN_LENGTH, REFRESH_TOKEN_PATTERN } from '../../plugins/oauth2-server/sessions.js'
import { serialised } from '../../plugins/oauth2-server/serialised.js'
import type { PresentedToken, Revocation, SessionStore } from '../../plugins/oauth2-server/session-store.js'
import type { AccessTokens } from '../../plugins/oauth2-bearer/index.js'
import type { WardenClaims } from '../../plugins/index.js'

// Sessions as the library runs them on any SessionStore, not only ours: a scripted store records
// what it is asked, so each rule of rotation and revocation is seen from the outside.

const NOW = 1_800_000_000_000
const EXPIRES_IN = 900
const TTL = 7 * 86_400
const FAMILY: PresentedToken = {
  familyId: 'fam-1',
  subject: 'u-ada',
  scope: 'notes:read notes:write',
  clientId: 'web',
  credential: 3,
  authTime: null,
  acr: null,
  jkt: null,
  rotatedAt: null,
  successorKey: 'family key'
}
const REFRESH = 'wdr_' + 'a'.repeat(43)

/** Access tokens as JSON after `at.`: what was signed is read back by `verify`. */
function accessTokens (): AccessTokens & { verified: string[] } {
  const verified: string[] = []
  return {
    verified,
    dpop: undefined,
    expiresIn: EXPIRES_IN,
    issuer: 'https://id.test',
    scheme: 'oauth2',
    scopes: new Set(['notes:read', 'notes:write']),
    revocable: true,
    jwksPath: undefined,
    signs: true,
    sign: (claims) => ({
      token: 'at.' + JSON.stringify({ ...claims, jti: 'jti-1', exp: NOW / 1000 + EXPIRES_IN }),
      jti: 'jti-1',
      expiresIn: EXPIRES_IN,
      expiresAt: NOW / 1000 + EXPIRES_IN
    }),
    verify: async (token) => {
      verified.push(token)
      if (!token.startsWith('at.')) throw new Error('not an access token')
      return JSON.parse(token.slice(3)) as WardenClaims
    },
    jwks: () => ({ keys: [] })
  }
}

interface Call {
  method: string
  args: unknown[]
}

interface Script {
  /** What `rotate` (the compare-and-swap) answers: the family, or null when the token was not current. */
  rotated?: PresentedToken | null
  /** What `find` answers for a digest (after a failed swap, or for a successor). */
  find?: (digest: string) => PresentedToken | null
  /** What `revokeFamily` answers: whether this call revoked it. */
  revokedFamily?: boolean
  revoked?: boolean
  family?: { familyId: string; subject: string } | null
  familyId?: string | null
}

/** A store that answers as scripted and records every call; its clock is NOW. */
function scriptedStore (script: Script = {}): SessionStore & { calls: Call[]; revocations: SessionStore['revocations'] & { list: Revocation[] } } {
  const calls: Call[] = []
  const list: Revocation[] = []
  const record =
    <T>(method: string, answer: (first: string) => T) =>
      async (...args: unknown[]): Promise<T> => {
        calls.push({ method, args })
        return answer(args[0] as string)
      }
  return {
    calls,
    refreshTokens: {
      createFamily: record('createFamily', () => (script.familyId === undefined ? 'fam-1' : script.familyId)),
      find: record('find', (digest) => (script.find === undefined ? FAMILY : script.find(digest))),
      rotate: record('rotate', () => (script.rotated === undefined ? FAMILY : script.rotated)),
      revokeFamily: record('revokeFamily', () => script.revokedFamily ?? true),
      revokeByToken: record('revokeByToken', () => (script.family === undefined ? { familyId: 'fam-1', subject: 'u-ada' } : script.family)),
      revokeSubject: record('revokeSubject', () => ['fam-1', 'fam-2']),
      isCurrent: record('isCurrent', () => false),
      now: () => NOW
    },
    revocations: {
      list,
      revoke: async (revocations) => {
        list.push(...revocations)
      },
      isRevoked: (claims) => script.revoked === true && claims.sid === FAMILY.familyId
    }
  }
}

/** A request whose log keeps the security events. */
function request (): FastifyRequest & { events: Array<Record<string, unknown>> } {
  const events: Array<Record<string, unknown>> = []
  const log = (level: string) => (entry: Record<string, unknown>, msg: string) => {
    events.push({ level, ...entry, ...(msg === entry.event ? {} : { msg }) })
  }
  return { events, ip: '192.0.2.1', auth: null, log: { info: log('info'), warn: log('warn'), error: log('error') } } as never
}

const sessionsOn = (store: SessionStore | undefined, reuseInterval = 0) => {
  const tokens = accessTokens()
  return { tokens, sessions: createSessions(tokens, store, { refreshTokenTtl: TTL, reuseInterval, now: () => NOW }) }
}
const claimsOf = (token: string): Record<string, unknown> => JSON.parse(token.slice(3))
const scopes = async () => ['notes:read']

t.test('the refresh-token format: the prefix and the exact length, both', async (t) => {
  t.ok(isRefreshToken(REFRESH))
  t.notOk(isRefreshToken('wdn_' + 'a'.repeat(43)), 'another prefix')
  t.notOk(isRefreshToken(REFRESH + 'a'), 'one character more')
  t.notOk(isRefreshToken(REFRESH.slice(0, -1)), 'one less')
  t.notOk(isRefreshToken('wdr_' + '+'.repeat(43)), 'a character outside base64url')
  t.equal(REFRESH_TOKEN_PATTERN, '^wdr_[A-Za-z0-9_-]{43}$', 'the pattern the token endpoint documents')
  t.equal(REFRESH_TOKEN_LENGTH, REFRESH.length)
  const store = scriptedStore()
  const { sessions } = sessionsOn(store)
  t.equal(await sessions.find('wdn_' + 'a'.repeat(43)), null)
  t.same(store.calls, [], 'a token of another shape never reaches the store')
  t.same(await sessions.find(REFRESH), FAMILY)
})

t.test('start: the family records the grant, its lifetime and the credential checked; no family, no tokens', async (t) => {
  const store = scriptedStore()
  const { sessions } = sessionsOn(store)
  const started = await sessions.start({ subject: 'u-ada', scopes: ['notes:read', 'notes:write'], clientId: 'web', claims: { acr: '1' }, credential: 3 }, true)
  t.match(started, { token_type: 'Bearer', expires_in: EXPIRES_IN, scope: 'notes:read notes:write', refresh_token: /^wdr_/ })
  t.ok(isRefreshToken(started!.refresh_token!))
  t.match(claimsOf(started!.access_token), { sub: 'u-ada', client_id: 'web', acr: '1', sid: 'fam-1', scope: ['notes:read', 'notes:write'] })
  const [created] = store.calls
  t.match(created.args[0], {
    subject: 'u-ada',
    scope: 'notes:read notes:write',
    clientId: 'web',
    credential: 3,
    digest: /^[\w-]{43}$/,
    successorKey: /^[\w-]{43}$/
  })
  t.equal((created.args[0] as { expiresAt: Date }).expiresAt.getTime(), NOW + TTL * 1000, 'the refresh lifetime')
  t.not((created.args[0] as { digest: string }).digest, started!.refresh_token, 'only a digest is stored')

  await sessions.start({ subject: 'u-bob', scopes: [], clientId: 'web' }, true)
  t.notOk('credential' in (store.calls[1].args[0] as object), 'no credential reported, none recorded')

  const stale = sessionsOn(scriptedStore({ familyId: null })).sessions
  t.equal(
    await stale.start({ subject: 'u-ada', scopes: [], clientId: 'web', credential: 2 }, true),
    undefined,
    'the credential changed meanwhile: no tokens at all'
  )

  const once = await sessions.start({ subject: 'u-ada', scopes: ['notes:read'], clientId: 'web' }, false)
  t.notOk('refresh_token' in once!, 'without refresh, the answer has no refresh_token member')
  t.equal(store.calls.length, 2, 'and no family')
  const storeless = await sessionsOn(undefined).sessions.start({ subject: 'u-ada', scopes: ['notes:read'], clientId: 'web' }, true)
  t.notOk('refresh_token' in storeless!, 'without a store there are no refresh tokens')
  t.notOk('sid' in claimsOf(storeless!.access_token))
})

t.test('refresh: rotation signs the scopes asked in the same session; a retry is logged as one', async (t) => {
  const store = scriptedStore()
  const { sessions } = sessionsOn(store, 30)
  const req = request()
  const rotated = await sessions.refresh(REFRESH, FAMILY, scopes, req)
  t.match(rotated, { scope: 'notes:read', refresh_token: /^wdr_/ })
  t.match(claimsOf(rotated!.access_token), { sub: 'u-ada', client_id: 'web', sid: 'fam-1' })
  const [rotate] = store.calls
  t.equal(rotate.method, 'rotate')
  t.equal(rotate.args.length, 3, "a compare-and-swap of the digest for its successor's")
  t.equal(rotate.args[2], undefined, 'no key to bind the family to')
  t.not(rotate.args[0], REFRESH, 'digests only: the store never sees a token')
  t.same(req.events, [{ level: 'info', event: 'auth.token.refreshed', ip: '192.0.2.1', subject: 'u-ada', session: 'fam-1' }])

  // Presented again 30 s after its rotation (the interval, in ms on the store's clock), its successor still current.
  const successor = rotate.args[1]
  const retry = scriptedStore({ find: (digest) => (digest === successor ? FAMILY : null) })
  const again = await sessionsOn(retry, 30).sessions.refresh(REFRESH, { ...FAMILY, rotatedAt: NOW - 30_000 }, scopes, req)
  t.equal(again!.refresh_token, rotated!.refresh_token, 'a retry is given the same successor (derived from the family key)')
  t.match(req.events[1], { event: 'auth.token.refreshed', retry: true })
  t.same(
    retry.calls.map((c) => c.method),
    ['find'],
    'nothing changed in the store'
  )

  const keyless = sessionsOn(scriptedStore()).sessions
  const one = await keyless.refresh(REFRESH, { ...FAMILY, successorKey: null }, scopes, req)
  const two = await keyless.refresh(REFRESH, { ...FAMILY, successorKey: null }, scopes, req)
  t.not(one!.refresh_token, two!.refresh_token, 'a family without a key gets random successors')
  t.equal(await sessionsOn(undefined).sessions.refresh(REFRESH, FAMILY, scopes, req), undefined, 'no store, no refresh')
})

t.test('refresh: reuse revokes the session for as long as its access tokens live, and says so at warn', async (t) => {
  const store = scriptedStore({ find: () => null })
  const req = request()
  t.equal(await sessionsOn(store, 30).sessions.refresh(REFRESH, { ...FAMILY, rotatedAt: NOW - 30_001 }, scopes, req), undefined)
  t.same(
    store.calls.map((c) => [c.method, c.args[1]]),
    [['revokeFamily', 'reuse']],
    'past the interval: no retry looked for'
  )
  t.same(store.revocations.list, [{ kind: 'sid', id: 'fam-1', expiresAt: NOW / 1000 + EXPIRES_IN + 60 }])
  t.same(req.events, [
    {
      level: 'warn',
      event: 'auth.refresh.reuse_detected',
      ip: '192.0.2.1',
      subject: 'u-ada',
      session: 'fam-1',
      reason: 'rotated refresh token presented again',
      msg: 'refresh token reuse: the session is revoked'
    }
  ])

  const moved = scriptedStore({ find: () => ({ ...FAMILY, rotatedAt: NOW }) })
  t.equal(await sessionsOn(moved, 30).sessions.refresh(REFRESH, { ...FAMILY, rotatedAt: NOW }, scopes, req), undefined)
  t.same(
    moved.calls.map((c) => c.method),
    ['find', 'revokeFamily'],
    'within the interval, a successor rotated already is reuse too'
  )

  const raced = scriptedStore({ rotated: null, find: () => ({ ...FAMILY, rotatedAt: NOW }) })
  t.equal(await sessionsOn(raced).sessions.refresh(REFRESH, FAMILY, scopes, req), undefined)
  t.same(
    raced.calls.map((c) => c.method),
    ['rotate', 'find', 'revokeFamily'],
    'rotated meanwhile (another instance): read again, and reuse'
  )
  t.equal(req.events.length, 3)

  const invalid = scriptedStore({ rotated: null, find: () => null })
  t.equal(await sessionsOn(invalid).sessions.refresh(REFRESH, FAMILY, scopes, req), undefined)
  t.same(invalid.revocations.list, [], 'an invalid token revokes nothing')
  const once = scriptedStore({ revokedFamily: false })
  t.equal(await sessionsOn(once).sessions.refresh(REFRESH, { ...FAMILY, rotatedAt: NOW }, scopes, req), undefined)
  t.same(once.revocations.list, [], 'a family another reuse revoked first: reported by that one only')
  t.equal(req.events.length, 3)
})

t.test('refresh with a DPoP key: a public client\'s binds the family in the swap; a rotation already made is judged on the family as it is now', async (t) => {
  const req = request()
  const store = scriptedStore({ rotated: { ...FAMILY, jkt: 'key-a' } })
  const bound = await sessionsOn(store).sessions.refresh(REFRESH, FAMILY, scopes, req, { jkt: 'key-a', bindRefresh: true })
  t.equal(store.calls[0].args[2], 'key-a', 'the key goes to the compare-and-swap, one atomic step')
  t.match([bound?.token_type, claimsOf(bound!.access_token).cnf], ['DPoP', { jkt: 'key-a' }])
  const confidential = scriptedStore()
  const own = await sessionsOn(confidential).sessions.refresh(REFRESH, FAMILY, scopes, req, { jkt: 'key-a', bindRefresh: false })
  t.same([confidential.calls[0].args[2], own?.token_type], [undefined, 'DPoP'], 'a confidential client\'s: the access token only')

  const raced = scriptedStore({ rotated: null, find: () => ({ ...FAMILY, rotatedAt: NOW, jkt: 'key-a' }) })
  t.equal(await sessionsOn(raced, 30).sessions.refresh(REFRESH, FAMILY, scopes, req), undefined)
  t.same(raced.calls.map((c) => c.method), ['rotate', 'find'], 'bound meanwhile, presented without its key: refused, the family not revoked')

  const rotated = { ...FAMILY, rotatedAt: NOW - 1000 }
  const unbound = scriptedStore({ find: () => FAMILY })
  t.equal(await sessionsOn(unbound, 30).sessions.refresh(REFRESH, rotated, scopes, req, { jkt: 'key-a', bindRefresh: true }), undefined)
  t.same(unbound.calls.map((c) => c.method), ['find'], 'a retry asking for a binding its rotation did not make: refused, nothing changed')
  const retried = scriptedStore({ find: () => ({ ...FAMILY, jkt: 'key-a' }) })
  const again = await sessionsOn(retried, 30).sessions.refresh(REFRESH, { ...rotated, jkt: 'key-a' }, scopes, req, { jkt: 'key-a', bindRefresh: true })
  t.match([again?.token_type, claimsOf(again!.access_token).cnf], ['DPoP', { jkt: 'key-a' }], 'a retry with the key it was bound to: answered')
  t.same(req.events.map((e) => e.event), ['auth.token.refreshed', 'auth.token.refreshed', 'auth.token.refreshed'])
})

t.test('refresh: a session revoked by its sid, on a store that leaves its family alone, refreshes no more and the family is revoked', async (t) => {
  const store = scriptedStore({ revoked: true })
  t.equal(await sessionsOn(store).sessions.refresh(REFRESH, FAMILY, scopes, request()), undefined)
  t.same(
    store.calls.map((c) => c.method),
    ['revokeByToken'],
    'never rotated'
  )
})

t.test('refresh: a subject gone or disabled ends the session and its successor', async (t) => {
  const store = scriptedStore()
  const req = request()
  t.equal(await sessionsOn(store).sessions.refresh(REFRESH, FAMILY, async () => undefined, req), undefined)
  const [rotate, revoke] = store.calls
  t.equal(revoke.method, 'revokeByToken')
  t.equal(revoke.args[0], rotate.args[1], 'the successor just stored is the one revoked')
  t.same(store.revocations.list, [{ kind: 'sid', id: 'fam-1', expiresAt: NOW / 1000 + EXPIRES_IN + 60 }])
  t.same(req.events, [], 'no refresh is logged')
})

t.test('RFC 7009 revocation: the hint orders the tries, both kinds are found whatever it says, unknown tokens change nothing', async (t) => {
  const access = 'at.' + JSON.stringify({ sub: 'u-ada', client_id: 'web', jti: 'jti-9', exp: NOW / 1000 + 600 })
  for (const hint of [undefined, 'refresh_token', 'access_token', 'something else']) {
    const store = scriptedStore()
    const { sessions, tokens } = sessionsOn(store)
    const req = request()
    const owners: unknown[] = []
    const allowed = async (owner: unknown) => { owners.push(owner) }
    await sessions.revoke(REFRESH, hint, req, allowed)
    t.same(store.revocations.list, [{ kind: 'sid', id: 'fam-1', expiresAt: NOW / 1000 + EXPIRES_IN + 60 }], `a refresh token, hint ${hint}: its session`)
    t.same(req.events, [{ level: 'info', event: 'auth.token.revoked', ip: '192.0.2.1', subject: 'u-ada', session: 'fam-1', token_type: 'refresh_token' }])
    t.same(tokens.verified, hint === 'access_token' ? [REFRESH] : [], 'tried as an access token only when the hint says so first')

    await sessions.revoke(access, hint, req, allowed)
    t.same(
      store.revocations.list.slice(1),
      [{ kind: 'jti', id: 'jti-9', expiresAt: NOW / 1000 + 600 + 60 }],
      `an access token, hint ${hint}: its id, until it can no longer be valid`
    )
    t.same(req.events[1], { level: 'info', event: 'auth.token.revoked', ip: '192.0.2.1', subject: 'u-ada', token_type: 'access_token' })
    t.same(store.calls.map((c) => c.method), ['find', 'revokeByToken'], 'an access token is never looked up as a refresh token (wrong shape)')
    t.same(owners, [
      { clientId: 'web', subject: 'u-ada', session: 'fam-1', jkt: null },
      { clientId: 'web', subject: 'u-ada', jkt: null }
    ], 'whom each was issued to, asked before anything is revoked')
  }

  const unknown = scriptedStore({ find: () => null })
  const { sessions, tokens } = sessionsOn(unknown)
  const req = request()
  const nobody = async () => { throw new Error('no owner to ask about') }
  await sessions.revoke('wdr_' + 'z'.repeat(43), undefined, req, nobody)
  t.same(unknown.calls.map((c) => c.method), ['find'], 'an unknown (or no longer live) token of the refresh format revokes nothing')
  t.same([unknown.revocations.list, req.events], [[], []])
  t.equal(tokens.verified.length, 1, 'and is then tried as an access token')
  await sessionsOn(undefined).sessions.revoke(access, undefined, req, nobody)
  t.same(req.events, [], 'without a store nothing is revoked')

  const refused = scriptedStore()
  const refusing = sessionsOn(refused).sessions
  for (const token of [REFRESH, access]) {
    await t.rejects(refusing.revoke(token, undefined, req, async () => { throw new Error('not yours') }), /not yours/)
  }
  t.same(refused.calls.map((c) => c.method), ['find'], 'refused: the session is not revoked')
  t.same([refused.revocations.list, req.events], [[], []], 'nor the access token')
})

t.test('endAll: every family of the subject, the credential change passed on, each session revoked', async (t) => {
  const store = scriptedStore()
  const { sessions } = sessionsOn(store)
  t.equal(await sessions.endAll('u-ada', 'password changed', { credential: 4 }), 2)
  t.same(store.calls[0].args, ['u-ada', 'password changed', 4])
  t.same(
    store.revocations.list.map((r) => r.id),
    ['fam-1', 'fam-2']
  )
  t.equal(await sessions.isCurrent('u-ada', 3), false, "the store's answer")
  t.equal(await sessionsOn(undefined).sessions.endAll('u-ada', 'x'), 0)
  t.equal(await sessionsOn(undefined).sessions.isCurrent('u-ada', 3), true, 'no store, nothing to compare')
})

t.test('serially: one task at a time per key, in order, a failure does not stop the next, and finished keys are forgotten', async (t) => {
  const serially = serialised()
  const log: string[] = []
  const task =
    (name: string, ms: number, fail = false) =>
      async () => {
        log.push(`${name} start`)
        await new Promise((resolve) => setTimeout(resolve, ms))
        log.push(`${name} end`)
        if (fail) throw new Error(name)
        return name
      }
  const a = serially('k', task('a', 20, true))
  const b = serially('k', task('b', 1))
  const c = serially('other', task('c', 1))
  t.equal(serially.keys, 2)
  await t.rejects(a, /a/)
  t.equal(await b, 'b')
  t.equal(await c, 'c')
  t.same(log, ['a start', 'c start', 'c end', 'a end', 'b start', 'b end'], 'b waited for a; c, another key, did not')
  t.equal(serially.keys, 0, 'no key is kept once its tasks are done')
})
