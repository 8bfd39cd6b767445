import type { FastifyInstance } from 'fastify'
import { errors } from '../errors.js'
import type { AccessTokens } from '../oauth2-bearer/options.js'
import { FORM, FORM_BODY_LIMIT, addFormParser } from './protocol.js'
import { metadataSchema, oauthErrorSchema, revokeRequestSchema, tokenRequestSchema, tokenResponseSchema } from './schemas.js'
import { revokeHandler, tokenHandler, type GrantContext } from './grants.js'

const oauthErrors = {
  400: {
    description:
      'invalid_request, invalid_grant, invalid_scope, unauthorized_client or unsupported_grant_type (RFC 6749 §5.2); ' +
      'invalid_dpop_proof, or use_dpop_nonce with a DPoP-Nonce header (RFC 9449 §5, §8)',
    $ref: 'OAuthError#'
  },
  401: { description: 'invalid_client', $ref: 'OAuthError#' }
}

function tokenRoute (app: FastifyInstance, ctx: GrantContext, refresh: boolean): void {
  const { settings } = ctx
  const limit = settings.limit
  app.post(
    settings.tokenPath,
    {
      schema: {
        security: [],
        tags: ['auth'],
        summary: `Get tokens: ${settings.grants.join(', ')}`,
        description:
          'RFC 6749 §4.3, §4.4 and §6. Answers carry `Cache-Control: no-store`. ' +
          (refresh ? 'Refresh tokens are rotated on every use; presenting a rotated one again revokes the whole session.' : ''),
        consumes: [FORM],
        body: tokenRequestSchema(settings.grants),
        response: { 200: { description: 'Tokens (RFC 6749 §5.1)', $ref: 'TokenResponse#' }, ...oauthErrors }
      },
      bodyLimit: FORM_BODY_LIMIT,
      // RFC 6749 errors, not the generic validation problem: the handler checks everything itself.
      attachValidation: true,
      ...(limit === false ? {} : { config: { rateLimit: { max: limit.max, timeWindow: limit.timeWindow, skipOnError: false } } })
    },
    tokenHandler(ctx)
  )
}

function revokeRoute (app: FastifyInstance, ctx: GrantContext): void {
  app.post(
    ctx.settings.revokePath,
    {
      schema: {
        security: [],
        tags: ['auth'],
        summary: 'Revoke an access or refresh token (RFC 7009)',
        description:
          'Answers 200 for every well-formed request, known token or not. ' +
          'Revoking a refresh token ends its session, including the access tokens issued from it. ' +
          'A token is revoked only for the client it was issued to, and a session bound to a DPoP key only with a `DPoP` proof of that key.',
        consumes: [FORM],
        body: revokeRequestSchema,
        response: {
          200: { type: 'null', description: 'Revoked, or nothing to revoke' },
          400: {
            description:
              'invalid_request; unauthorized_client: the token was issued to another client, or is bound to a DPoP key the request ' +
              'has no proof of, and nothing was revoked (RFC 7009 §2.1); invalid_dpop_proof, or use_dpop_nonce with a DPoP-Nonce header (RFC 9449)',
            $ref: 'OAuthError#'
          },
          401: oauthErrors[401]
        }
      },
      bodyLimit: FORM_BODY_LIMIT,
      attachValidation: true
    },
    revokeHandler(ctx)
  )
}

/** RFC 8414 §3: the well-known path is inserted before the issuer's own path. */
function metadataRoute (app: FastifyInstance, tokens: AccessTokens, settings: GrantContext['settings'], refresh: boolean): void {
  const issuer = new URL(tokens.issuer)
  const at = (path: string): string => new URL(app.prefix + path, issuer.origin).href
  const authMethods = ['none', 'client_secret_basic', 'client_secret_post']
  const body = JSON.stringify({
    issuer: tokens.issuer,
    token_endpoint: at(settings.tokenPath),
    ...(refresh ? { revocation_endpoint: at(settings.revokePath), revocation_endpoint_auth_methods_supported: authMethods } : {}),
    grant_types_supported: settings.grants,
    response_types_supported: [],
    scopes_supported: [...tokens.scopes],
    token_endpoint_auth_methods_supported: authMethods,
    ...(tokens.jwksPath === undefined ? {} : { jwks_uri: at(tokens.jwksPath) }),
    ...(tokens.dpop === undefined ? {} : { dpop_signing_alg_values_supported: tokens.dpop.algorithms })
  })
  app.get(
    '/.well-known/oauth-authorization-server' + (issuer.pathname === '/' ? '' : issuer.pathname),
    {
      schema: { security: [], tags: ['auth'], summary: 'Authorization-server metadata (RFC 8414)', response: { 200: metadataSchema } }
    },
    async (_request, reply) => await reply.type('application/json').header('cache-control', 'public, max-age=3600').send(body)
  )
}

/** The token endpoint, revocation (with sessions) and metadata, in a context of their own (the form parser). */
export async function registerEndpoints (fastify: FastifyInstance, ctx: GrantContext): Promise<void> {
  const refresh = ctx.settings.sessions !== undefined
  // RFC 8414 §3 puts the metadata at the root of the issuer's origin, where a prefixed context cannot add a route.
  if (ctx.settings.metadata && fastify.prefix !== '') {
    throw new errors.WARDEN_ERR_OPTION(
      'metadata',
      `cannot be served under the prefix '${fastify.prefix}': set metadata: false, or register oauth2Server at the root`
    )
  }
  await fastify.register(async function tokenEndpoint (app) {
    addFormParser(app)
    app.addSchema(tokenResponseSchema(refresh))
    app.addSchema(oauthErrorSchema)
    tokenRoute(app, ctx, refresh)
    if (refresh) revokeRoute(app, ctx)
    if (ctx.settings.metadata) metadataRoute(app, ctx.tokens, ctx.settings, refresh)
  })
}
