import { Type } from '@sinclair/typebox'
import { Timestamp, Uuid } from './common.js'
import { SafeText, Timestamp as InputTimestamp } from '../../schemas/index.js'
import { ScopeName } from './scopes.js'
import { API_KEY_LENGTH, API_KEY_PATTERN, API_KEY_PREFIX_LENGTH, API_KEY_PREFIX_PATTERN } from '../../plugins/index.js'

const Fields = {
  id: Uuid,
  prefix: Type.String({ pattern: API_KEY_PREFIX_PATTERN, maxLength: API_KEY_PREFIX_LENGTH, description: 'The public part of the key, shown in listings' }),
  name: Type.String({ maxLength: 64 }),
  scopes: Type.Array(ScopeName, { maxItems: 16 }),
  expires_at: Type.Union([Timestamp, Type.Null()]),
  created_at: Timestamp
}

export const ApiKeyCreate = Type.Object({
  name: SafeText({ minLength: 1, maxLength: 64, description: 'A name to recognise the key by; trimmed' }),
  scopes: Type.Array(ScopeName, { maxItems: 16, uniqueItems: true, description: 'At most the scopes of the token used to create the key' }),
  expires_at: Type.Optional(InputTimestamp({ description: 'When the key stops working; none for a key that does not expire' }))
}, { additionalProperties: false, $id: 'ApiKeyCreate' })

export const ApiKeyCreated = Type.Object({
  ...Fields,
  key: Type.String({ pattern: API_KEY_PATTERN, maxLength: API_KEY_LENGTH, description: 'The key itself, shown this once and never again' })
}, { additionalProperties: false, $id: 'ApiKeyCreated' })

export const ApiKeyListed = Type.Object({
  ...Fields,
  last_used_at: Type.Union([Timestamp, Type.Null()]),
  request_count: Type.Integer({ format: 'int64', minimum: 0, maximum: Number.MAX_SAFE_INTEGER })
}, { additionalProperties: false, $id: 'ApiKey' })

export const ApiKeyList = Type.Object({ items: Type.Array(Type.Ref('ApiKey'), { maxItems: 10_000 }) }, { $id: 'ApiKeyList' })
