import { Type, type Static } from '@sinclair/typebox'
import { NO_CONTROL } from '../../schemas/index.js'

/** A scope token of RFC 6749 §3.3, space-separated: which of them this API knows is the handler's check. */
const SCOPE_LIST = '^[\\x21\\x23-\\x5b\\x5d-\\x7e]+( [\\x21\\x23-\\x5b\\x5d-\\x7e]+)*$'

/** The JSON login: bounded before any lookup or hashing, as the token endpoint's form is. */
export const LoginRequest = Type.Object({
  username: Type.String({ minLength: 1, maxLength: 256, pattern: NO_CONTROL }),
  password: Type.String({ minLength: 1, maxLength: 128 }),
  scope: Type.Optional(Type.String({
    minLength: 1, maxLength: 1024, pattern: SCOPE_LIST, description: 'Space-separated scopes; default: all of the role'
  }))
}, { additionalProperties: false, $id: 'LoginRequest' })
export type LoginRequest = Static<typeof LoginRequest>

/** What the token endpoint answers (RFC 6749 §5.1), here in reply to the JSON login. */
export const TokenPair = Type.Object({
  access_token: Type.String({ maxLength: 8192, description: 'A JWT (RFC 9068)' }),
  token_type: Type.Union([Type.Literal('Bearer'), Type.Literal('DPoP')], {
    description: 'DPoP when the request carried a DPoP proof: the tokens are bound to its key'
  }),
  expires_in: Type.Integer({ format: 'int32', minimum: 1, maximum: 86_400, description: 'Seconds' }),
  refresh_token: Type.String({ maxLength: 256, description: 'For the refresh_token grant; rotated on every use' }),
  scope: Type.String({ maxLength: 1024, description: 'The scopes granted, space-separated' })
}, { additionalProperties: false, $id: 'TokenPair' })
export type TokenPair = Static<typeof TokenPair>
