// A small client as a team would write it against the generated types (openapi-fetch). It is
// type-checked with the rest of the tests, and run against a live server by sdk.test.ts.
import createClient from 'openapi-fetch'
import type { components, paths } from './openapi.js'

export type Problem = components['schemas']['Problem']
export type Token = components['schemas']['TokenResponse']

// The error answers the security requirements promise are part of the generated types: these
// lines stop compiling if a 401, 403 or 429 problem+json response goes missing from the document.
export type MeUnauthorized = paths['/users/me']['get']['responses'][401]['content']['application/problem+json']
export type UsersForbidden = paths['/users']['get']['responses'][403]['content']['application/problem+json']
export type UsersRateLimited = paths['/users']['get']['responses'][429]['content']['application/problem+json']
export type TokenRejected = paths['/auth/token']['post']['responses'][400]['content']['application/json']

const form = (body: unknown): string => new URLSearchParams(body as Record<string, string>).toString()

export function identityClient (baseUrl: string) {
  const client = createClient<paths>({ baseUrl })
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` })
  return {
    async login (username: string, password: string, scope?: string) {
      return await client.POST('/auth/token', {
        body: { grant_type: 'password', username, password, ...(scope === undefined ? {} : { scope }) },
        bodySerializer: form,
        headers: { 'content-type': 'application/x-www-form-urlencoded' }
      })
    },
    async me (token: string) {
      return await client.GET('/users/me', { headers: bearer(token) })
    },
    async users (token: string) {
      return await client.GET('/users', { params: { query: { limit: 10, offset: 0 } }, headers: bearer(token) })
    },
    async createKey (token: string, name: string, scopes: Array<'users:read' | 'users:write' | 'admin'>) {
      return await client.POST('/api-keys', { body: { name, scopes }, headers: bearer(token) })
    },
    async revokeKey (token: string, id: string) {
      return await client.DELETE('/api-keys/{id}', { params: { path: { id } }, headers: bearer(token) })
    },
    async meWithKey (key: string) {
      return await client.GET('/users/me', { headers: { 'x-api-key': key } })
    }
  }
}
