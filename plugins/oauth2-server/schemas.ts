import { REFRESH_TOKEN_LENGTH, REFRESH_TOKEN_PATTERN } from './sessions.js'

/** JSON Schemas of the token endpoint, for validation bounds and for the OpenAPI document. */

const str = (maxLength: number, description?: string): Record<string, unknown> => ({
  type: 'string',
  maxLength,
  ...(description === undefined ? {} : { description })
})

/** `application/x-www-form-urlencoded` body of the token request (RFC 6749 §4.3, §4.4, §6). */
export function tokenRequestSchema (grants: readonly string[]): Record<string, unknown> {
  return {
    $id: 'TokenRequest',
    type: 'object',
    required: ['grant_type'],
    properties: {
      grant_type: { type: 'string', enum: [...grants] },
      ...(grants.includes('password') ? { username: str(256), password: str(1024) } : {}),
      ...(grants.includes('refresh_token') ? { refresh_token: str(256) } : {}),
      scope: str(1024, 'Space-separated scopes'),
      client_id: str(256),
      client_secret: str(256)
    }
  }
}

export function tokenResponseSchema (refresh: boolean): Record<string, unknown> {
  return {
    $id: 'TokenResponse',
    type: 'object',
    additionalProperties: false,
    required: ['access_token', 'token_type', 'expires_in', 'scope'],
    properties: {
      access_token: str(8192, 'A JWT (RFC 9068)'),
      token_type: { type: 'string', enum: ['Bearer', 'DPoP'] },
      expires_in: { type: 'integer', format: 'int32', minimum: 1, maximum: 86_400, description: 'Seconds' },
      ...(refresh
        ? {
            refresh_token: {
              type: 'string',
              pattern: REFRESH_TOKEN_PATTERN,
              maxLength: REFRESH_TOKEN_LENGTH,
              description: 'Rotated on every use; absent for client_credentials'
            }
          }
        : {}),
      scope: { type: 'string', maxLength: 1024, pattern: '^[\\x21\\x23-\\x5b\\x5d-\\x7e ]*$', description: 'The scopes granted, space-separated' }
    }
  }
}

export const oauthErrorSchema = {
  $id: 'OAuthError',
  type: 'object',
  description: 'RFC 6749 §5.2 error',
  required: ['error'],
  properties: {
    error: {
      type: 'string',
      enum: [
        'invalid_request',
        'invalid_client',
        'invalid_grant',
        'unauthorized_client',
        'unsupported_grant_type',
        'invalid_scope',
        'unsupported_token_type',
        'invalid_dpop_proof',
        'use_dpop_nonce'
      ]
    },
    error_description: { type: 'string', maxLength: 1024, pattern: '^[\\x20-\\x21\\x23-\\x5b\\x5d-\\x7e]*$' }
  }
}

/** RFC 7009 revocation request. */
export const revokeRequestSchema = {
  $id: 'RevokeRequest',
  type: 'object',
  required: ['token'],
  properties: { token: str(8192), token_type_hint: str(64), client_id: str(256), client_secret: str(256) }
}

export const metadataSchema = {
  description: 'Authorization-server metadata',
  type: 'object',
  required: ['issuer', 'token_endpoint'],
  properties: { issuer: { type: 'string', format: 'uri', maxLength: 2048 }, token_endpoint: { type: 'string', format: 'uri', maxLength: 2048 } },
  additionalProperties: true
}
