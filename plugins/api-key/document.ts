import type { OpenAPIV3_1 } from 'openapi-types'
import { API_KEY_MARK } from './format.js'
import type { ApiKeySettings } from './settings.js'

/** The scheme as the document shows it: a key in a header, never in the query string. */
export function schemeDocument ({ header, description }: ApiKeySettings): OpenAPIV3_1.SecuritySchemeObject {
  return {
    type: 'apiKey',
    in: 'header',
    name: header,
    description: description ?? `API key in the \`${header}\` header (\`${API_KEY_MARK}…\`); scopes are set per key.`
  }
}

/** The challenge's auth-params: the realm, and the header a client must send the key in. */
export function challengeParams ({ realm, header }: ApiKeySettings): Array<readonly [string, string]> {
  return [['realm', realm], ['header', header]]
}
