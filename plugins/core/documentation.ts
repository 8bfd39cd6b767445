import type { OpenAPIV3_1 } from 'openapi-types'
import { errors } from '../errors.js'
import { scopeDescriptions } from './option-checks.js'
import type { SecurityScheme } from './types.js'

/**
 * A token endpoint of this service and the grants it answers: what a scheme's document shows of
 * where its tokens come from. The plugin serving the endpoint tells the core; no plugin edits
 * another's scheme object.
 */
export interface TokenEndpoint {
  /** The endpoint's path (`/auth/token`) or absolute URL. */
  readonly url: string
  /** The `grant_type` values it answers (`password`, `refresh_token`, `client_credentials`). */
  readonly grants: readonly string[]
}

/** A header any answer may carry, as the OpenAPI document describes it. */
export type ResponseHeader = OpenAPIV3_1.HeaderObject

type Flows = NonNullable<OpenAPIV3_1.OAuth2SecurityScheme['flows']>

/**
 * The flows of an OAuth2 scheme served by a token endpoint of this service: the password flow it
 * offers (with refresh when it rotates refresh tokens) replaces the one the scheme assumed from its
 * own `tokenUrl`, and client credentials are added when offered. Flows of an outside provider that
 * the app named stay as they are.
 */
function endpointFlows (flows: Flows, endpoint: TokenEndpoint, scopes: Record<string, string>): Flows {
  const offered: Flows = { ...flows }
  const refresh = endpoint.grants.includes('refresh_token') ? { refreshUrl: endpoint.url } : {}
  if (endpoint.grants.includes('password')) offered.password = { tokenUrl: endpoint.url, ...refresh, scopes }
  else delete offered.password
  if (endpoint.grants.includes('client_credentials')) offered.clientCredentials = { tokenUrl: endpoint.url, scopes }
  return offered
}

/**
 * What the document's `components.securitySchemes` shows: each scheme's own object, with the
 * flows of the token endpoint that issues its tokens. Schemes without flows (API keys, Basic, a
 * provider's OpenID Connect) are shown as they registered.
 */
export function schemeDocuments (
  schemes: ReadonlyMap<string, SecurityScheme>,
  endpoints: ReadonlyMap<string, TokenEndpoint>,
  catalog: Readonly<Record<string, string>>
): Record<string, OpenAPIV3_1.SecuritySchemeObject> {
  // Each name is one scheme's: addScheme() refused any clash, documented names included.
  return Object.fromEntries([...schemes.values()].flatMap((scheme): Array<[string, OpenAPIV3_1.SecuritySchemeObject]> => {
    if (scheme.documentedAs !== undefined) return Object.entries(scheme.documentedAs)
    const endpoint = endpoints.get(scheme.name)
    const own = scheme.openapi
    if (endpoint === undefined || !('flows' in own) || own.flows === undefined) return [[scheme.name, own]]
    return [[scheme.name, { ...own, flows: endpointFlows(own.flows, endpoint, scopeDescriptions(catalog, scheme.scopes)) }]]
  }))
}

type Requirement = Readonly<Record<string, readonly string[]>>

/**
 * A Security Requirement list as the document shows it: each alternative that names a scheme
 * documented as several (`documentedAs`) becomes one alternative per name, the scopes and the
 * other schemes of the alternative kept (AND stays AND, OR gains members).
 */
export function documentedSecurity (schemes: ReadonlyMap<string, SecurityScheme>, requirements: readonly Requirement[]): Requirement[] {
  return requirements.flatMap((alternative) => {
    let expanded: Array<Record<string, readonly string[]>> = [{}]
    for (const [name, scopes] of Object.entries(alternative)) {
      const names = Object.keys(schemes.get(name)?.documentedAs ?? { [name]: null })
      expanded = expanded.flatMap((partial) => names.map((shown) => ({ ...partial, [shown]: scopes })))
    }
    return expanded
  })
}

/** A token endpoint for `scheme`: its URL must be one the document can show, and one per scheme. */
export function checkTokenEndpoint (
  endpoints: ReadonlyMap<string, TokenEndpoint>,
  scheme: string,
  endpoint: TokenEndpoint
): TokenEndpoint {
  if (endpoints.has(scheme)) {
    throw new errors.WARDEN_ERR_OPTION(`tokenEndpoint.${scheme}`, 'is already served by another token endpoint')
  }
  if (typeof endpoint?.url !== 'string' || endpoint.url.length === 0) {
    throw new errors.WARDEN_ERR_OPTION('tokenEndpoint.url', 'must be a non-empty string')
  }
  if (!Array.isArray(endpoint.grants) || endpoint.grants.some((g) => typeof g !== 'string')) {
    throw new errors.WARDEN_ERR_OPTION('tokenEndpoint.grants', 'must be an array of grant types')
  }
  return Object.freeze({ url: endpoint.url, grants: Object.freeze([...endpoint.grants]) })
}

/**
 * Add headers every answer may carry; a name already documented by another plugin is refused
 * (whatever its case), since the document could show only one of the two descriptions.
 */
export function addHeaders (
  into: Record<string, ResponseHeader>,
  headers: Readonly<Record<string, ResponseHeader>>
): void {
  const taken = new Set(Object.keys(into).map((name) => name.toLowerCase()))
  for (const [name, header] of Object.entries(headers ?? {})) {
    if (taken.has(name.toLowerCase())) {
      throw new errors.WARDEN_ERR_OPTION(`responseHeaders.${name}`, 'is already documented by another plugin')
    }
    if (header === null || typeof header !== 'object') {
      throw new errors.WARDEN_ERR_OPTION(`responseHeaders.${name}`, 'must be an OpenAPI Header Object')
    }
    into[name] = header
  }
}
