import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import { bearerSettings } from './settings.js'
import { issuerDocuments, schemeDocument, withDpop } from './document.js'
import { bearerChallenges } from './challenges.js'
import { errors } from '../errors.js'
import { issuerRouter, tokenVerifier } from './verify.js'
import { bearerAuthenticator } from './authenticate.js'
import { accessTokens } from './signer.js'
import { publishKeys, publishResourceMetadata } from './well-known.js'
import type { OAuth2BearerOptions } from './options.js'
import { stepUpCheck } from './step-up.js'
import { afterCallback } from '../core/callback-results.js'
import type { RouteDemands, SecurityScheme } from '../core/types.js'

export type {
  OAuth2BearerOptions, OneIssuerOptions, SeveralIssuersOptions, IssuerOptions, DpopOptions, AccessTokens, IssuedAccessToken, SignableClaims
} from './options.js'

const oauth2BearerPlugin: FastifyPluginAsync<OAuth2BearerOptions> = async (fastify, opts) => {
  const warden = fastify.warden
  const settings = bearerSettings(opts, warden)
  const { name, keys, metadata } = settings
  const several = settings.several
  const verifyToken =
    several === undefined
      ? tokenVerifier(settings.rules, settings.allowed, keys.resolve, settings.ownClaims)
      : issuerRouter(new Map(several.map((p) => [p.issuer, { rules: p.rules, allowed: p.allowed, resolve: p.keys.resolve }])), settings.ownClaims)
  const tokens = accessTokens(settings, verifyToken)
  fastify.decorate('accessTokens', tokens)

  if (settings.jwksPath !== undefined) publishKeys(fastify, settings.jwksPath, tokens)
  if (metadata !== undefined) publishResourceMetadata(fastify, metadata)

  const remotes = (several ?? [{ keys, issuer: undefined }]).flatMap(({ keys, issuer }) =>
    keys.remote === undefined ? [] : [{ issuer, keySet: keys.remote.keySet }])
  if (remotes.length > 0 && opts.prefetch !== false) {
    // The providers' keys before the first request, each on its own: a provider that is down at
    // start-up is only logged unless the keys are 'required' (its tokens then get a 503 until it
    // answers; the other issuers' are not held up).
    fastify.addHook('onReady', async function () {
      await Promise.all(remotes.map(async ({ issuer, keySet }) => {
        await keySet.load().catch((err: unknown) => {
          if (opts.prefetch === 'required') throw err
          fastify.log.warn({ err, scheme: name, ...(issuer === undefined ? {} : { issuer }) }, 'the provider\'s keys could not be fetched at start-up')
        })
      }))
    })
  }

  const challengeParams: Array<[string, string]> = [['realm', settings.realm]]
  if (metadata !== undefined) challengeParams.push(['resource_metadata', metadata.url])
  const algorithms = settings.dpop?.algorithms ?? []
  const authenticators = bearerAuthenticator(settings, verifyToken)
  // The scheme as a route uses it: its DPoP mode (the route's 'x-dpop', else the scheme's), its
  // step-up demand (RFC 9470), each checked after the token holds, and the scopes its own refusals
  // name; built once per route.
  function routeScheme ({ dpop, stepUp, scope }: RouteDemands): SecurityScheme {
    const mode = dpop ?? settings.dpop?.mode ?? 'off'
    if (mode !== 'off' && settings.dpop === undefined) {
      throw new errors.WARDEN_ERR_OPTION('dpop', `must be set on scheme '${name}' for a route to take DPoP ('x-dpop': '${mode}')`)
    }
    const challenges = bearerChallenges(warden.challenge, challengeParams, mode, algorithms, scope)
    const authenticate = authenticators(mode, challenges)
    const check = stepUp === undefined ? undefined : stepUpCheck(stepUp, name, challenges, settings.now, settings.several)
    return {
      name,
      scopes: settings.scopes,
      openapi,
      ...(documentedAs === undefined ? {} : { documentedAs }),
      challenge: challenges.challenge,
      authenticate: check === undefined ? authenticate : (request) => afterCallback(authenticate(request), (outcome) => check(request, outcome)),
      forRoute: routeScheme
    }
  }
  const own = { tokenUrl: settings.tokenUrl, refreshUrl: settings.refreshUrl, scopes: settings.scopeDescriptions }
  const openapi = withDpop(
    several === undefined
      ? schemeDocument(opts, keys, own)
      : {
          type: 'http',
          scheme: 'bearer',
          bearerFormat: 'JWT',
          description: opts.description ?? `An access token (JWT) of one of the issuers: ${settings.issuers.join(', ')}.`
        },
    settings.dpop,
    opts.description !== undefined
  )
  // Several issuers: one security scheme each in the document (see issuerDocuments).
  const documentedAs =
    several === undefined
      ? undefined
      : Object.fromEntries(
        Object.entries(issuerDocuments(several, opts.description, own)).map(([n, d]) => [n, withDpop(d, settings.dpop, opts.description !== undefined)])
      )
  const scheme = routeScheme({})
  warden.addScheme(scheme)
}

/** OAuth2 bearer scheme: verifies RFC 9068 JWT access tokens and signs them for the token endpoint. */
export const oauth2Bearer = fp(oauth2BearerPlugin, {
  fastify: '5.x',
  name: 'fastify-warden/oauth2-bearer',
  dependencies: ['fastify-warden']
})
export default oauth2Bearer
