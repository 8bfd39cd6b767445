import { StringEnum } from './common.js'

/** The reference API's scopes, as documented in the OAuth2 flow. */
export const SCOPES = {
  'users:read': 'Read user accounts',
  'users:write': 'Create user accounts',
  admin: 'Delete user accounts and other administration'
} as const

export type Scope = keyof typeof SCOPES

/**
 * The roles, and what each may be granted: the one definition the schemas, the stores and the
 * grants read. It is the token endpoint's `roles` option (app.ts): a login answers the user's
 * role, and the token carries its scopes. (The users table's CHECK constraint, migration 1, is its record in
 * the database; test/stores checks that the two agree.)
 */
export const ROLE_SCOPES = {
  user: [],
  moderator: ['users:read'],
  admin: ['users:read', 'users:write', 'admin']
} as const satisfies Record<string, readonly Scope[]>

export type Role = keyof typeof ROLE_SCOPES
export const ROLES = Object.keys(ROLE_SCOPES) as Role[]

export const ScopeName = StringEnum(Object.keys(SCOPES) as Scope[], { description: 'A scope of this API' })

/** The scopes of `wanted` that `role` allows, in catalog order. */
export function grantable (role: Role, wanted: readonly string[]): Scope[] {
  return (ROLE_SCOPES[role] as readonly Scope[]).filter((s) => wanted.includes(s))
}
