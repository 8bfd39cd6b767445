import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import { invalidFields, problem, securityEvent, sendProblem, type PasswordHasher, type PasswordLogin } from '../plugins/index.js'
import { IdParams, problemResponse } from '../app/schemas/common.js'
import { PageQuery, PasswordChange, UserCreate, UserPage, UserView } from '../app/schemas/users.js'
import { DuplicateError } from '../app/errors.js'
import type { Stores } from '../app/stores.js'
import type { User } from '../app/users.js'

export interface UserRoutesOptions {
  stores: Stores
  passwords: PasswordHasher
  /** The login behind the lockout and the address budget: the current password is checked through it, so this route guesses no faster than a login. */
  login: PasswordLogin
  /** End every session of a user (password change, deletion) and record their new credential version (`null`: gone); returns how many. */
  endSessions: (subject: string, reason: string, change: { credential: number | null }) => Promise<number>
  /** Lift an account's lockout. */
  unlock: (username: string) => Promise<void>
}

/** Any of the three schemes, each granting `scopes`. */
const anyScheme = (...scopes: string[]): [{ oauth2: string[] }, { apiKey: string[] }, { basic: string[] }] => [
  { oauth2: scopes },
  { apiKey: scopes },
  { basic: scopes }
]

/** A user as the API shows one: never a hash. */
export function userView (user: User): UserView {
  return { id: user.id, username: user.username, email: user.email, role: user.role, active: user.active, created_at: user.createdAt.toISOString() }
}

type App = Parameters<FastifyPluginAsyncTypebox>[0]

/** GET /users/me: the caller. */
function me (app: App, { stores }: UserRoutesOptions): void {
  app.get(
    '/users/me',
    {
      schema: {
        security: anyScheme(),
        tags: ['users'],
        summary: 'The caller',
        response: { 200: Type.Ref('User'), 404: problemResponse('The credential belongs to a service, not a user') }
      }
    },
    async (request, reply) => {
      const user = await stores.users.findById(request.auth.subject)
      if (user === null) return await sendProblem(reply, 404, problem(404, 'This credential does not belong to a user.'))
      return userView(user)
    }
  )
}

/** PUT /users/me/password: ends every session of the user. */
function changePassword (app: App, { stores, passwords, login, endSessions }: UserRoutesOptions): void {
  app.put(
    '/users/me/password',
    {
      schema: {
        security: [{ oauth2: [] }, { basic: [] }],
        tags: ['users'],
        summary: "Change the caller's password; ends every session of the user",
        body: PasswordChange,
        response: {
          204: Type.Null({ description: 'Changed; every refresh token and access token of the user is revoked' }),
          400: problemResponse('Invalid input, or the current password is wrong')
        }
      }
    },
    async (request, reply) => {
      const user = await stores.users.findById(request.auth.subject)
      if (user === null) return await sendProblem(reply, 404, problem(404, 'This credential does not belong to a user.'))
      const { current_password: current, new_password: next } = request.body
      // Counted like any login (a stolen token must not guess the password faster here); locked: 429.
      const checked = await login(user.username, current, request)
      if (checked?.subject !== user.id) {
        return await sendProblem(reply, 400, invalidFields([{ in: 'body', field: '/current_password', message: 'is not the current password' }]))
      }
      if (current === next) {
        return await sendProblem(reply, 400, invalidFields([{ in: 'body', field: '/new_password', message: 'must differ from the current password' }]))
      }
      const credential = await stores.users.changePassword(user.id, await passwords.hash(next))
      // A login that checked the old password, even one hashing right now, gets no session.
      const ended = await endSessions(user.id, 'password changed', { credential })
      securityEvent(request, 'auth.password.changed', { sessions_ended: ended })
      return await reply.code(204).send(null)
    }
  )
}

/** GET /users */
function listUsers (app: App, { stores }: UserRoutesOptions): void {
  app.get(
    '/users',
    {
      schema: {
        security: anyScheme('users:read'),
        tags: ['users'],
        summary: 'List users',
        querystring: PageQuery,
        response: { 200: UserPage, 400: problemResponse('Invalid paging') }
      }
    },
    async (request) => {
      const { limit, offset } = request.query
      return { items: (await stores.users.list({ limit, offset })).map(userView), limit, offset }
    }
  )
}

/** GET /users/:id */
function getUser (app: App, { stores }: UserRoutesOptions): void {
  app.get(
    '/users/:id',
    {
      schema: {
        security: anyScheme('users:read'),
        tags: ['users'],
        summary: 'One user',
        params: IdParams,
        response: { 200: Type.Ref('User'), 400: problemResponse('The id is not a UUID'), 404: problemResponse('No such user') }
      }
    },
    async (request, reply) => {
      const user = await stores.users.findById(request.params.id)
      if (user === null) return await sendProblem(reply, 404, problem(404, 'No such user.'))
      return userView(user)
    }
  )
}

/** POST /users */
function createUser (app: App, { stores, passwords }: UserRoutesOptions): void {
  app.post(
    '/users',
    {
      schema: {
        security: anyScheme('users:write'),
        tags: ['users'],
        summary: 'Create a user',
        body: UserCreate,
        response: { 201: Type.Ref('User'), 400: problemResponse('Invalid input, naming the fields'), 409: problemResponse('The username or email is taken') }
      }
    },
    async (request, reply) => {
      const { username, email, password, role } = request.body
      try {
        const user = await stores.users.create({ username, email: email.toLowerCase(), passwordHash: await passwords.hash(password), role })
        securityEvent(request, 'user.created', { user: user.id, role })
        return await reply.code(201).header('location', `/users/${user.id}`).send(userView(user))
      } catch (err) {
        if (err instanceof DuplicateError) return await sendProblem(reply, 409, problem(409, `The ${err.field} is already taken.`))
        throw err
      }
    }
  )
}

/** DELETE /users/:id/lockout: lift the lock failed logins put on an account. */
function unlockUser (app: App, { stores, unlock }: UserRoutesOptions): void {
  app.delete(
    '/users/:id/lockout',
    {
      schema: {
        security: anyScheme('admin'),
        tags: ['users'],
        summary: 'Lift the lock that failed logins put on an account',
        params: IdParams,
        response: {
          204: Type.Null({ description: 'The account may log in again' }),
          400: problemResponse('The id is not a UUID'),
          404: problemResponse('No such user')
        }
      }
    },
    async (request, reply) => {
      const user = await stores.users.findById(request.params.id)
      if (user === null) return await sendProblem(reply, 404, problem(404, 'No such user.'))
      await unlock(user.username)
      request.log.info({ subject: request.auth.subject, user: user.id }, 'login lock lifted')
      return await reply.code(204).send(null)
    }
  )
}

/** DELETE /users/:id, with the sessions and API keys of the user. */
function deleteUser (app: App, { stores, endSessions }: UserRoutesOptions): void {
  app.delete(
    '/users/:id',
    {
      schema: {
        security: anyScheme('admin'),
        tags: ['users'],
        summary: 'Delete a user, with their sessions and API keys',
        params: IdParams,
        response: {
          204: Type.Null({ description: 'Deleted' }),
          400: problemResponse('The id is not a UUID'),
          404: problemResponse('No such user'),
          409: problemResponse('Administrators cannot delete themselves')
        }
      }
    },
    async (request, reply) => {
      const { id } = request.params
      if (id === request.auth.subject) return await sendProblem(reply, 409, problem(409, 'You cannot delete your own account.'))
      if (!(await stores.users.delete(id))) return await sendProblem(reply, 404, problem(404, 'No such user.'))
      // Sessions and keys are the library's, keyed by subject: they end with the account.
      await endSessions(id, 'user deleted', { credential: null })
      for (const prefix of await stores.apiKeys.revokeSubject(id)) await stores.revocations.revokeApiKey(prefix)
      securityEvent(request, 'user.deleted', { user: id })
      return await reply.code(204).send(null)
    }
  )
}

const userRoutes: FastifyPluginAsyncTypebox<UserRoutesOptions> = async (app, options) => {
  app.addSchema(UserView)
  for (const route of [me, changePassword, listUsers, getUser, createUser, unlockUser, deleteUser]) route(app, options)
}

export default userRoutes
