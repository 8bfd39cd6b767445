import type { OpenAPIV3_1 } from 'openapi-types'
import { errors } from '../errors.js'
import { stringOption, urlOption } from '../core/option-checks.js'
import type { Keys } from './key-sources.js'
import type { OAuth2BearerOptions } from './options.js'
import type { DpopSettings } from './dpop.js'

/** RFC 9728 §3: the metadata document and where it lives for a resource identifier. */
export function resourceMetadata (
  opts: NonNullable<OAuth2BearerOptions['resourceMetadata']>,
  scopes: string[],
  dpop: DpopSettings | undefined,
  issuers: readonly string[]
): { url: string; path: string; document: Record<string, unknown> } {
  let resource: URL
  try {
    resource = new URL(stringOption('resourceMetadata.resource', opts.resource))
  } catch {
    throw new errors.WARDEN_ERR_OPTION('resourceMetadata.resource', 'must be an absolute URL')
  }
  if (resource.search !== '' || resource.hash !== '') {
    throw new errors.WARDEN_ERR_OPTION('resourceMetadata.resource', 'must have no query or fragment (RFC 9728 §1.2)')
  }
  const path = '/.well-known/oauth-protected-resource' + (resource.pathname === '/' ? '' : resource.pathname)
  // By default the issuers the scheme accepts: where a client discovers how to get a token (RFC
  // 9728 §2), so that it does not take this API for its authorization server.
  const authorizationServers =
    opts.authorizationServers === undefined
      ? issuers.filter((issuer) => /^https?:\/\//.test(issuer))
      : opts.authorizationServers.map((s, i) => urlOption(`resourceMetadata.authorizationServers[${i}]`, s))
  return {
    url: resource.origin + path,
    path,
    document: {
      resource: opts.resource,
      ...(authorizationServers.length === 0 ? {} : { authorization_servers: authorizationServers }),
      scopes_supported: scopes,
      bearer_methods_supported: ['header'],
      ...(dpop === undefined
        ? {}
        : { dpop_signing_alg_values_supported: dpop.algorithms, ...(dpop.mode === 'required' ? { dpop_bound_access_tokens_required: true } : {}) }),
      ...(opts.documentation === undefined ? {} : { resource_documentation: urlOption('resourceMetadata.documentation', opts.documentation) })
    }
  }
}

/**
 * The scheme as the document shows it, true to where tokens come from: the password flow of this
 * service's token endpoint with its own keys; with a provider, `openIdConnect` (discovered) or an
 * HTTP bearer JWT, unless the app names the provider's flows.
 */
export function schemeDocument (
  opts: OAuth2BearerOptions,
  keys: Keys,
  own: { tokenUrl: string; refreshUrl: string | undefined; scopes: Record<string, string> },
  /** Before the option's name in an error: `issuers[1].` for an issuer of several. */
  prefix = ''
): OpenAPIV3_1.SecuritySchemeObject {
  const described = (text: string): { description: string } => ({ description: opts.description ?? text })
  const documentation = opts.documentation
  if (documentation !== undefined && 'openIdConnectUrl' in documentation) {
    return {
      type: 'openIdConnect',
      openIdConnectUrl: urlOption(`${prefix}documentation.openIdConnectUrl`, documentation.openIdConnectUrl),
      ...described('Tokens of the OpenID provider; send the access token as `Authorization: Bearer <token>`.')
    }
  }
  if (documentation !== undefined) {
    return {
      type: 'oauth2',
      flows: documentation.flows,
      ...described('Tokens of the OAuth 2 provider; send the access token as `Authorization: Bearer <token>`.')
    }
  }
  if (keys.remote?.metadataUrl !== undefined) {
    return {
      type: 'openIdConnect',
      openIdConnectUrl: keys.remote.metadataUrl,
      ...described('Tokens of the OpenID provider; send the access token as `Authorization: Bearer <token>`.')
    }
  }
  if (keys.remote !== undefined) {
    return {
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'JWT',
      ...described('An access token (JWT) of the OAuth 2 provider, verified with its published keys.')
    }
  }
  return {
    type: 'oauth2',
    ...described(
      'OAuth2 password flow; send the access token as `Authorization: Bearer <token>`. Access tokens are JWTs ' +
        '(RFC 9068) issued and verified following RFC8725 (algorithm allow-list, typ, iss, aud, exp checked).'
    ),
    flows: { password: { tokenUrl: own.tokenUrl, ...(own.refreshUrl === undefined ? {} : { refreshUrl: own.refreshUrl }), scopes: own.scopes } }
  }
}

/**
 * The scheme's document with its DPoP use (RFC 9449), which OpenAPI has no field for: a sentence
 * in the description (unless the app wrote its own) and the `x-dpop` extension, `{ mode, algs }`;
 * a route that differs says so with its own `x-dpop`.
 */
export function withDpop (
  document: OpenAPIV3_1.SecuritySchemeObject,
  dpop: DpopSettings | undefined,
  ownDescription: boolean
): OpenAPIV3_1.SecuritySchemeObject {
  if (dpop === undefined) return document
  const how =
    dpop.mode === 'required' ? 'Tokens must be DPoP-bound (RFC 9449)' : dpop.mode === 'allowed' ? 'DPoP-bound tokens (RFC 9449) are accepted' : 'DPoP is off'
  const sentence = dpop.mode === 'off' ? '' : `${how}: send \`Authorization: DPoP <token>\` with a \`DPoP\` proof signed with ${dpop.algorithms.join(', ')}.`
  return {
    ...document,
    ...(ownDescription || sentence === '' ? {} : { description: `${document.description ?? ''} ${sentence}`.trim() }),
    'x-dpop': { mode: dpop.mode, algs: dpop.algorithms }
  } as unknown as OpenAPIV3_1.SecuritySchemeObject
}

/**
 * How a scheme with several issuers is documented. An OAuth2 Security Scheme Object holds one
 * flow of each type, so two providers' authorization-code flows cannot share one; and an
 * extension (`x-issuers`) would be read by no generator and no Swagger UI. So each issuer is a
 * security scheme of its own (`oauth2.<host>`, or its `name`), shown as its keys are found:
 * `openIdConnect` by discovery, its `documentation`, else an HTTP bearer JWT; with `x-issuer`
 * naming it. The core shows each route requirement naming the scheme as one alternative per
 * issuer, so Swagger UI offers a login with each provider and a generated client a credential
 * for each, while routes keep naming the one scheme they are enforced by.
 */
export function issuerDocuments (
  policies: ReadonlyArray<{ issuer: string; name: string; keys: Keys; documentation: OAuth2BearerOptions['documentation'] }>,
  description: string | undefined,
  own: { tokenUrl: string; refreshUrl: string | undefined; scopes: Record<string, string> }
): Record<string, OpenAPIV3_1.SecuritySchemeObject> {
  return Object.fromEntries(policies.map((policy, i) => {
    const { issuer, keys, documentation } = policy
    const document: OpenAPIV3_1.SecuritySchemeObject =
      keys.remote === undefined && documentation === undefined
        ? { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'An access token (JWT) of the issuer, verified with keys this service holds.' }
        : schemeDocument({ documentation } as OAuth2BearerOptions, keys, own, `issuers[${i}].`)
    const text = description ?? `${document.description ?? ''} Issuer: ${issuer}.`.trim()
    return [policy.name, { ...document, description: text, 'x-issuer': issuer } as unknown as OpenAPIV3_1.SecuritySchemeObject]
  }))
}
