import t, { type Test } from 'tap'
import Fastify, { type FastifyInstance } from 'fastify'
import type { OAuth2ServerOptions, VerifiedUser } from '../../plugins/index.js'
import { plugins, stores } from '../helpers/subject.js'
import { SECRET } from '../helpers/keys.js'
import { closeSharedDatabase, testDatabase } from '../helpers/services.js'

t.teardown(closeSharedDatabase)
const { warden, oauth2Bearer, oauth2Server, basicAuth, passwordLogin } = plugins
const { sqlRefreshTokenStore, sqlRevocationStore, RevocationList } = stores

const SCOPES = { 'notes:read': 'Read notes', 'notes:write': 'Write notes', 'notes:admin': 'Administer notes' }
const ROLES = {
  admin: ['notes:read', 'notes:write', 'notes:admin'],
  editor: ['notes:read', 'notes:write'],
  reader: ['notes:read']
}
const claimsOf = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString())
const form = (fields: Record<string, string>) => ({
  method: 'POST' as const,
  url: '/token',
  payload: new URLSearchParams(fields).toString(),
  headers: { 'content-type': 'application/x-www-form-urlencoded' }
})
const basic = (user: string, password: string) =>
  ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` })

/** Who answers what: each user's answer to `verifyUser` and `findSubject` (changed by the tests). */
type Directory = Map<string, unknown>

interface RolesApp { app: FastifyInstance, lines: Array<Record<string, unknown>> }

async function rolesApp (t: Test, users: Directory, server: Partial<OAuth2ServerOptions> = {}): Promise<RolesApp> {
  const lines: Array<Record<string, unknown>> = []
  const stream = { write: (line: string) => { lines.push(JSON.parse(line)) } }
  const app = Fastify({ logger: { level: 'info', stream } })
  await app.register(warden, { scopes: SCOPES })
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
    roles: ROLES,
    verifyUser: async (username, password) =>
      password === `${username} password` ? users.get(username) as VerifiedUser : null,
    findSubject: async (subject) => users.get(subject) as VerifiedUser,
    sessions: { refreshTokens: sqlRefreshTokenStore(db), revocations },
    tokenPath: '/token',
    lockout: false,
    rateLimit: false,
    ...server
  })
  const login = app.oauth2Server.login
  await app.register(basicAuth, {
    async verify (username, password, request) {
      const grant = await login(username, password, request)
      return grant === null ? null : { subject: grant.subject, scopes: grant.scopes, user: { roles: grant.roles } }
    }
  })
  const who = async (request: { auth: { subject: string, scopes: readonly string[] } | null }) =>
    ({ subject: request.auth!.subject, scopes: request.auth!.scopes })
  app.get('/notes', { schema: { security: [{ oauth2: ['notes:read'] }, { basic: ['notes:read'] }] } }, who)
  // The guides' RoleChecker([Role.ADMIN]): a scope only the admin role grants.
  app.delete('/notes', { schema: { security: [{ oauth2: ['notes:admin'] }, { basic: ['notes:admin'] }] } }, who)
  t.teardown(() => app.close())
  await app.ready()
  return { app, lines }
}

t.test('the roles option is checked at registration, each error naming the role at fault', async (t) => {
  const cases: Array<[unknown, RegExp]> = [
    ['admin', /^option 'roles' must be an object of role name to scopes$/],
    [['admin'], /^option 'roles' must be an object of role name to scopes$/],
    [null, /^option 'roles' must be an object of role name to scopes$/],
    [{ '': ['notes:read'] }, /^option 'roles' must name every role \(an empty role name\)$/],
    [{ ' ': [] }, /^option 'roles' must name every role/],
    [{ editor: 'notes:write' }, /^option 'roles\.editor' must be an array of scope names$/],
    [{ editor: ['notes:read', 1] }, /^option 'roles\.editor' must be an array of scope names$/],
    [
      { reader: ['notes:read'], editor: ['notes:read', 'notes:delete'] },
      /^option 'roles\.editor' names scope 'notes:delete', which is not declared$/
    ]
  ]
  for (const [roles, message] of cases) {
    const app = Fastify()
    await app.register(warden, { scopes: SCOPES })
    const site = 'https://n.example'
    await app.register(oauth2Bearer, { secret: SECRET, issuer: site, audience: site, tokenUrl: '/token' })
    app.register(oauth2Server, { verifyUser: () => null, roles: roles as OAuth2ServerOptions['roles'] })
    const err = await app.ready().then(() => undefined, (e: Error & { code?: string }) => e)
    t.equal(err?.code, 'WARDEN_ERR_OPTION', JSON.stringify(roles))
    t.match(err?.message, message)
    await app.close()
  }
  t.throws(() => passwordLogin({ verifyUser: () => null, scopes: ['a:read'], roles: { reader: ['a:write'] } }),
    { code: 'WARDEN_ERR_OPTION', message: "option 'roles.reader' names scope 'a:write', which is not declared" })
  const roles = { reader: ['a:read'], guest: [] }
  t.doesNotThrow(() => passwordLogin({ verifyUser: () => null, scopes: ['a:read'], roles }))
})

t.test('roles become scopes: password grant, narrowing, refresh and Basic through login', async (t) => {
  const users: Directory = new Map<string, unknown>([
    ['ada', { subject: 'ada', roles: ['admin'] }],
    ['ed', { subject: 'ed', roles: ['reader'], scopes: ['notes:write'] }],
    ['rea', { subject: 'rea', roles: ['reader'] }]
  ])
  const { app } = await rolesApp(t, users)
  const ada = (await app.inject(form({ grant_type: 'password', username: 'ada', password: 'ada password' }))).json()
  t.equal(ada.scope, 'notes:read notes:write notes:admin', 'the role\'s scopes')
  t.match(claimsOf(ada.access_token), { sub: 'ada', scope: 'notes:read notes:write notes:admin' })
  t.notOk('roles' in claimsOf(ada.access_token), 'roles stay on the server: the token carries scopes')
  const ed = (await app.inject(form({ grant_type: 'password', username: 'ed', password: 'ed password' }))).json()
  t.equal(ed.scope, 'notes:write notes:read', 'a role and scopes beside it: the union')
  const password = (username: string, scope: string) =>
    form({ grant_type: 'password', username, password: `${username} password`, scope })
  const narrowed = await app.inject(password('ada', 'notes:read'))
  t.equal(narrowed.json().scope, 'notes:read', 'narrowed to the scope asked for')
  const rea = await app.inject(password('rea', 'notes:read notes:admin'))
  t.equal(rea.json().scope, 'notes:read', 'a scope the role does not grant is left out')

  // A route for the admin role is a scope only it grants: the core's 403.
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` })
  t.equal((await app.inject({ method: 'DELETE', url: '/notes', headers: bearer(ada.access_token) })).statusCode, 200)
  const refused = await app.inject({ method: 'DELETE', url: '/notes', headers: bearer(rea.json().access_token) })
  t.equal(refused.statusCode, 403)
  t.match(refused.headers['www-authenticate'], /error="insufficient_scope"/)
  const narrowedHeaders = bearer(narrowed.json().access_token)
  const narrowedAdmin = await app.inject({ method: 'DELETE', url: '/notes', headers: narrowedHeaders })
  t.equal(narrowedAdmin.statusCode, 403)

  // At refresh the role is read again: a demoted admin keeps only what the new role grants.
  users.set('ada', { subject: 'ada', roles: ['reader'] })
  const refreshed = await app.inject(form({ grant_type: 'refresh_token', refresh_token: ada.refresh_token }))
  t.equal(refreshed.statusCode, 200)
  t.equal(refreshed.json().scope, 'notes:read', 'the reader role\'s scopes today')
  users.set('ada', { subject: 'ada', roles: ['admin'] })
  const again = await app.inject(form({ grant_type: 'refresh_token', refresh_token: refreshed.json().refresh_token }))
  t.equal(again.json().scope, 'notes:read notes:write notes:admin', 'promoted again: what the login granted')
  const session = await app.inject(form({ grant_type: 'refresh_token', refresh_token: narrowed.json().refresh_token }))
  t.equal(session.json().scope, 'notes:read', 'a refresh never widens what the login was narrowed to')

  // Basic through fastify.oauth2Server.login: the same roles, the same scopes.
  const adminByBasic = await app.inject({ method: 'DELETE', url: '/notes', headers: basic('ada', 'ada password') })
  t.same(adminByBasic.json(), { subject: 'ada', scopes: ['notes:read', 'notes:write', 'notes:admin'] })
  const readerByBasic = await app.inject({ method: 'DELETE', url: '/notes', headers: basic('rea', 'rea password') })
  t.equal(readerByBasic.statusCode, 403)
  t.equal((await app.inject({ url: '/notes', headers: basic('rea', 'rea password') })).statusCode, 200)
})

t.test('an unknown role or a wrong shape fails closed, logged as auth.callback.invalid', async (t) => {
  const users: Directory = new Map<string, unknown>([
    ['root', { subject: 'root', roles: ['root'] }],
    ['str', { subject: 'str', roles: 'admin' }],
    ['num', { subject: 'num', roles: [1] }],
    ['proto', { subject: 'proto', roles: ['toString'] }],
    ['none', { subject: 'none' }],
    ['ok', { subject: 'ok', roles: ['editor'] }]
  ])
  const { app, lines } = await rolesApp(t, users)
  const expected: Record<string, string> = {
    root: 'must name roles of the roles option',
    str: 'must be an array of role names',
    num: 'must be an array of role names',
    proto: 'must name roles of the roles option',
    none: 'must be an array of scope names'
  }
  for (const [username, message] of Object.entries(expected)) {
    lines.length = 0
    const res = await app.inject(form({ grant_type: 'password', username, password: `${username} password` }))
    t.same(res.json(), { error: 'invalid_grant', error_description: 'Invalid username or password.' }, username)
    const fault = lines.find((l) => l.event === 'auth.callback.invalid')
    const field = username === 'none' ? 'scopes' : 'roles'
    t.match(fault, { callback: 'verifyUser', field, expected: message }, username)
    const byBasic = await app.inject({ url: '/notes', headers: basic(username, `${username} password`) })
    t.equal(byBasic.statusCode, 401, `${username} by Basic`)
  }

  // A role that stops existing ends the session at its next refresh.
  const ok = (await app.inject(form({ grant_type: 'password', username: 'ok', password: 'ok password' }))).json()
  t.equal(ok.scope, 'notes:read notes:write')
  users.set('ok', { subject: 'ok', roles: ['editor', 'ghost'] })
  lines.length = 0
  const refresh = await app.inject(form({ grant_type: 'refresh_token', refresh_token: ok.refresh_token }))
  t.equal(refresh.json().error, 'invalid_grant')
  t.match(lines.find((l) => l.event === 'auth.callback.invalid'), { callback: 'findSubject', field: 'roles' })
  const protectedRoute = await app.inject({ url: '/notes', headers: { authorization: `Bearer ${ok.access_token}` } })
  t.equal(protectedRoute.statusCode, 401, 'the session ended, its access token with it')
})

t.test('roles answered without the roles option fail closed', async (t) => {
  const users: Directory = new Map<string, unknown>([
    ['ada', { subject: 'ada', roles: ['admin'], scopes: ['notes:read'] }]
  ])
  const { app, lines } = await rolesApp(t, users, { roles: undefined })
  const res = await app.inject(form({ grant_type: 'password', username: 'ada', password: 'ada password' }))
  t.equal(res.json().error, 'invalid_grant')
  t.match(lines.find((l) => l.event === 'auth.callback.invalid'),
    { callback: 'verifyUser', field: 'roles', expected: 'needs the roles option (role name to scopes)' })
})
