import { Type } from '@sinclair/typebox'
import { StringEnum } from './common.js'

/** `application/x-www-form-urlencoded` body of `POST /auth/token` (RFC 6749 §4.3, §6). */
export const TokenRequest = Type.Object({
  grant_type: StringEnum(['password', 'refresh_token'] as const),
  username: Type.Optional(Type.String({ maxLength: 256 })),
  password: Type.Optional(Type.String({ maxLength: 1024 })),
  refresh_token: Type.Optional(Type.String({ maxLength: 256 })),
  scope: Type.Optional(Type.String({ maxLength: 1024, description: 'Space-separated scopes' })),
  client_id: Type.Optional(Type.String({ maxLength: 256 })),
  client_secret: Type.Optional(Type.String({ maxLength: 256 }))
}, { $id: 'TokenRequest' })

export const TokenResponse = Type.Object({
  access_token: Type.String({ maxLength: 8192, description: 'A JWT (RFC 9068)' }),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer({ format: 'int32', minimum: 1, maximum: 86_400, description: 'Seconds' }),
  refresh_token: Type.String({ pattern: '^wdr_[A-Za-z0-9_-]{43}$', maxLength: 47 }),
  scope: Type.String({ maxLength: 1024, pattern: '^[\\x21\\x23-\\x5b\\x5d-\\x7e ]*$', description: 'The scopes granted, space-separated' })
}, { additionalProperties: false, $id: 'TokenResponse' })

export const OAuthError = Type.Object({
  error: StringEnum(['invalid_request', 'invalid_client', 'invalid_grant', 'unauthorized_client', 'unsupported_grant_type', 'invalid_scope'] as const),
  error_description: Type.Optional(Type.String({ maxLength: 1024, pattern: '^[\\x20-\\x21\\x23-\\x5b\\x5d-\\x7e]*$' }))
}, { $id: 'OAuthError', description: 'RFC 6749 §5.2 error' })

/** RFC 7009 revocation request. */
export const RevokeRequest = Type.Object({
  token: Type.String({ maxLength: 8192 }),
  token_type_hint: Type.Optional(Type.String({ maxLength: 64 }))
}, { $id: 'RevokeRequest' })
