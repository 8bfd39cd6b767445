import t, { type Test } from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import type { IssueTokensOptions, OAuth2ServerOptions, TokenResponse, UserGrant } from '../../plugins/index.js'
import { plugins, stores } from '../helpers/subject.js'
import { SECRET } from '../helpers/keys.js'
import { closeSharedDatabase, testDatabase } from '../helpers/services.js'

t.teardown(closeSharedDatabase)
const { warden, oauth2Bearer, oauth2Server } = plugins
const { sqlRefreshTokenStore, sqlRevocationStore, RevocationList } = stores

const claimsOf = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString())
const form = (fields: Record<string, string>) => ({
  method: 'POST' as const,
  url: '/token',
  payload: new URLSearchParams(fields).toString(),
  headers: { 'content-type': 'application/x-www-form-urlencoded' }
})
const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

interface NotesApp {
  app: FastifyInstance
  lines: Array<Record<string, unknown>>
  rows: () => Promise<number>
  /** Runs between the login and issueTokens, as another request could. */
  meanwhile: { run?: () => Promise<void> }
}

/** A user's app with a JSON login of its own, as a FastAPI port writes it: login, then issueTokens. */
async function notesApp (t: Test, server: Partial<OAuth2ServerOptions> = {}, withSessions = true): Promise<NotesApp> {
  const lines: Array<Record<string, unknown>> = []
  const stream = { write: (line: string) => { lines.push(JSON.parse(line)) } }
  const app = Fastify({ logger: { level: 'info', stream } })
  await app.register(warden, { scopes: { 'notes:read': 'Read notes', 'notes:write': 'Write notes' } })
  const db = await testDatabase(t, 'pglite')
  const revocations = await RevocationList.open({ store: sqlRevocationStore(db) })
  t.teardown(() => revocations.close())
  await app.register(oauth2Bearer, {
    secret: SECRET,
    issuer: 'https://notes.example',
    audience: 'https://notes.example',
    tokenUrl: '/token',
    isRevoked: (c) => revocations.isRevoked(c)
  })
  await app.register(oauth2Server, {
    verifyUser: async (username, password) => username === 'ada' && password === 'ada password'
      ? { subject: 'u-ada', scopes: ['notes:read', 'notes:write'], credential: 1, claims: { tenant_id: 't1' } }
      : null,
    ...(withSessions ? { sessions: { refreshTokens: sqlRefreshTokenStore(db), revocations } } : {}),
    clients: { mobile: { secret: 'the mobile app secret' } },
    tokenPath: '/token',
    ...server
  })
  const meanwhile: NotesApp['meanwhile'] = {}
  app.post('/login', {
    schema: {
      security: [],
      body: {
        type: 'object',
        required: ['username', 'password'],
        additionalProperties: false,
        properties: {
          username: { type: 'string', maxLength: 64 },
          password: { type: 'string', maxLength: 128 },
          scopes: { type: 'array', items: { type: 'string', maxLength: 64 }, maxItems: 8 },
          client: { type: 'string', maxLength: 64 }
        }
      }
    }
  }, async (request, reply) => {
    type Body = { username: string, password: string, scopes?: string[], client?: string }
    const { username, password, scopes, client } = request.body as Body
    reply.header('cache-control', 'no-store')
    const grant = await app.oauth2Server.login(username, password, request)
    await meanwhile.run?.()
    const options: IssueTokensOptions = {
      ...(scopes === undefined ? {} : { scopes }),
      ...(client === undefined ? {} : { clientId: client })
    }
    const tokens: TokenResponse | undefined =
      grant === null ? undefined : await app.oauth2Server.issueTokens(grant, request, options)
    if (tokens === undefined) return await reply.code(401).send({ detail: 'Invalid username or password.' })
    return tokens
  })
  app.get('/notes', { schema: { security: [{ oauth2: ['notes:read'] }] } },
    async (request) => ({ owner: request.auth!.subject }))
  app.post('/notes', { schema: { security: [{ oauth2: ['notes:write'] }] } }, async () => ({ ok: true }))
  t.teardown(() => app.close())
  await app.ready()
  const rows = async (): Promise<number> =>
    (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM warden_refresh_families'))[0].n
  return { app, lines, rows, meanwhile }
}

const login = (body: Record<string, unknown>) => ({ method: 'POST' as const, url: '/login', payload: body })

t.test('issueTokens in a user\'s own login route: the pair works, refreshes, is logged as a login', async (t) => {
  const { app, lines, rows } = await notesApp(t)
  const res = await app.inject(login({ username: 'ada', password: 'ada password' }))
  t.equal(res.statusCode, 200)
  const body = res.json()
  t.same(Object.keys(body).sort(), ['access_token', 'expires_in', 'refresh_token', 'scope', 'token_type'])
  t.equal(body.token_type, 'Bearer')
  t.equal(body.scope, 'notes:read notes:write', 'all of the grant when none is asked for')
  const scope = 'notes:read notes:write'
  t.match(claimsOf(body.access_token), { sub: 'u-ada', client_id: 'public', tenant_id: 't1', scope })
  t.match(claimsOf(body.access_token).sid, /^[0-9a-f-]{36}$/, 'a session was started')
  t.equal(await rows(), 1)
  t.same((await app.inject({ url: '/notes', headers: bearer(body.access_token) })).json(), { owner: 'u-ada' })
  t.match(lines.find((l) => l.event === 'auth.login.succeeded'), { subject: 'u-ada', scope, client_id: 'public' })

  const refreshed = await app.inject(form({ grant_type: 'refresh_token', refresh_token: body.refresh_token }))
  t.equal(refreshed.statusCode, 200, 'the token endpoint refreshes it')
  t.equal(refreshed.json().scope, 'notes:read notes:write')
  t.equal((await app.inject({ url: '/notes', headers: bearer(refreshed.json().access_token) })).statusCode, 200)
  const reused = await app.inject(form({ grant_type: 'refresh_token', refresh_token: body.refresh_token }))
  t.equal(reused.json().error, 'invalid_grant', 'and rotates it, as any session')

  t.equal((await app.inject(login({ username: 'ada', password: 'wrong' }))).statusCode, 401)
})

t.test('narrowing as the password grant: the scopes asked for, unknown ones refused, the client bound', async (t) => {
  const { app, rows } = await notesApp(t)
  const ada = { username: 'ada', password: 'ada password' }
  const narrowed = (await app.inject(login({ ...ada, scopes: ['notes:read'] }))).json()
  t.equal(narrowed.scope, 'notes:read')
  t.equal((await app.inject({ method: 'POST', url: '/notes', headers: bearer(narrowed.access_token) })).statusCode, 403)
  const none = (await app.inject(login({ username: 'ada', password: 'ada password', scopes: [] }))).json()
  t.equal(none.scope, '', 'an empty list asks for no scope')
  const unknown = await app.inject(login({ ...ada, scopes: ['notes:read', 'notes:delete'] }))
  t.equal(unknown.statusCode, 400, 'WARDEN_ERR_OAUTH is a client error')
  const detail = /^token request refused \(invalid_scope\): Unknown scope: notes:delete\.$/
  t.match(unknown.json(), { status: 400, detail })
  const before = await rows()

  const mobile = (await app.inject(login({ username: 'ada', password: 'ada password', client: 'mobile' }))).json()
  t.equal(claimsOf(mobile.access_token).client_id, 'mobile')
  const asPublic = await app.inject(form({ grant_type: 'refresh_token', refresh_token: mobile.refresh_token }))
  t.equal(asPublic.json().error, 'invalid_grant', 'the refresh token is bound to its client')
  const asMobile = await app.inject(form({
    grant_type: 'refresh_token',
    refresh_token: mobile.refresh_token,
    client_id: 'mobile',
    client_secret: 'the mobile app secret'
  }))
  t.equal(asMobile.statusCode, 200)
  t.equal(await rows(), before + 1)
})

t.test('a credential changed between the login and issueTokens gets no tokens', async (t) => {
  const { app, lines, rows, meanwhile } = await notesApp(t)
  meanwhile.run = async () => { await app.oauth2Server.endSessions('u-ada', 'password changed', { credential: 2 }) }
  const res = await app.inject(login({ username: 'ada', password: 'ada password' }))
  t.equal(res.statusCode, 401)
  t.equal(await rows(), 0, 'no session was stored')
  const reason = 'the credential changed while it was checked'
  t.match(lines.find((l) => l.event === 'auth.login.failed'), { subject: 'u-ada', reason })
  t.notOk(lines.some((l) => l.event === 'auth.login.succeeded'))
})

t.test('without sessions: an access token only; a grant of the wrong shape is a programming error', async (t) => {
  const { app } = await notesApp(t, {}, false)
  const body = (await app.inject(login({ username: 'ada', password: 'ada password' }))).json()
  t.same(Object.keys(body).sort(), ['access_token', 'expires_in', 'scope', 'token_type'])
  t.equal((await app.inject({ url: '/notes', headers: bearer(body.access_token) })).statusCode, 200)
  const request = {} as Parameters<typeof app.oauth2Server.issueTokens>[1]
  const grant: UserGrant = { subject: 'u-ada', scopes: ['notes:read'] }
  const cases: Array<[unknown, unknown, RegExp]> = [
    [null, {}, /^option 'grant' must be a grant login\(\) gave/],
    [{ subject: '', scopes: [] }, {}, /^option 'grant'/],
    [{ subject: 'u-ada', roles: ['admin'] }, {}, /^option 'grant'/],
    [grant, { scopes: 'notes:read' }, /^option 'scopes' must be an array of scope names$/],
    [grant, { clientId: '' }, /^option 'clientId' must be a non-empty string$/]
  ]
  for (const [bad, options, message] of cases) {
    const issued = app.oauth2Server.issueTokens(bad as UserGrant, request, options as IssueTokensOptions)
    await t.rejects(issued, { code: 'WARDEN_ERR_OPTION', message })
  }
})
