import type { OpenAPIV3_1 } from 'openapi-types'
import type { BasicAuthSettings } from './settings.js'

/** The scheme as the document shows it. */
export function schemeDocument ({ description }: BasicAuthSettings): OpenAPIV3_1.SecuritySchemeObject {
  return {
    type: 'http',
    scheme: 'basic',
    description: description ?? 'HTTP Basic (RFC 7617) with a user name and password, UTF-8.'
  }
}
