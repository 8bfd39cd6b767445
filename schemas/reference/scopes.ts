import { StringEnum } from './common.js'
import type { Role } from '../../stores/users.js'

/** The reference API's scopes, as documented in the OAuth2 flow. */
export const SCOPES = {
  'users:read': 'Read user accounts',
  'users:write': 'Create user accounts',
  admin: 'Delete user accounts and other administration'
} as const

export type Scope = keyof typeof SCOPES

/** What each role may be granted (DESIGN §6). */
export const ROLE_SCOPES: Record<Role, readonly Scope[]> = {
  user: [],
  moderator: ['users:read'],
  admin: ['users:read', 'users:write', 'admin']
}

export const ScopeName = StringEnum(Object.keys(SCOPES) as Scope[], { description: 'A scope of this API' })

/** The scopes of `wanted` that `role` allows, in catalog order. */
export function grantable (role: Role, wanted: readonly string[]): Scope[] {
  return ROLE_SCOPES[role].filter((s) => wanted.includes(s))
}
