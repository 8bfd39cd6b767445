import { Type, type Static } from '@sinclair/typebox'
import { StringEnum, Timestamp, Uuid } from './common.js'
import { NO_CONTROL } from '../../schemas/index.js'
import { ROLES } from './scopes.js'

export const Username = Type.String({
  pattern: '^[A-Za-z0-9_.-]{3,32}$',
  minLength: 3,
  maxLength: 32,
  description: 'Letters, digits, `_`, `.` and `-`, 3 to 32'
})
export const Email = Type.String({ format: 'email', maxLength: 254 })
/** Bounded before any hashing: 12 to 128 characters, no control characters. */
export const Password = Type.String({ minLength: 12, maxLength: 128, pattern: NO_CONTROL })
export const RoleName = StringEnum(ROLES)

export const UserCreate = Type.Object(
  {
    username: Username,
    email: Email,
    password: Password,
    role: RoleName
  },
  { additionalProperties: false, $id: 'UserCreate' }
)
export type UserCreate = Static<typeof UserCreate>

export const UserView = Type.Object(
  {
    id: Uuid,
    username: Username,
    email: Email,
    role: RoleName,
    active: Type.Boolean(),
    created_at: Timestamp
  },
  { additionalProperties: false, $id: 'User' }
)
export type UserView = Static<typeof UserView>

export const UserPage = Type.Object(
  {
    items: Type.Array(Type.Ref('User'), { maxItems: 100 }),
    limit: Type.Integer({ format: 'int32', minimum: 1, maximum: 100 }),
    offset: Type.Integer({ format: 'int32', minimum: 0, maximum: 1_000_000 })
  },
  { $id: 'UserPage' }
)

export const PageQuery = Type.Object(
  {
    limit: Type.Integer({ format: 'int32', minimum: 1, maximum: 100, default: 50 }),
    offset: Type.Integer({ format: 'int32', minimum: 0, maximum: 1_000_000, default: 0 })
  },
  { additionalProperties: false }
)

export const PasswordChange = Type.Object(
  {
    current_password: Type.String({ minLength: 1, maxLength: 128 }),
    new_password: Password
  },
  { additionalProperties: false, $id: 'PasswordChange' }
)
