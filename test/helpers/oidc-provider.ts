import { generateKeyPairSync, randomBytes, type JsonWebKey, type KeyObject } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import Provider, { errors, type AsymmetricSigningAlgorithm, type ClientMetadata, type Configuration, type InteractionResults } from 'oidc-provider'

/** The resource (audience) the provider issues RFC 9068 JWT access tokens for. */
export const RESOURCE = 'urn:warden:api'

/** A P-256 signing key for the provider, with its private key for forging look-alikes. */
export function ecKey (kid: string): { kid: string; privateKey: KeyObject; jwk: JsonWebKey } {
  const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  return { kid, privateKey: pair.privateKey, jwk: { ...pair.privateKey.export({ format: 'jwk' }), kid, alg: 'ES256', use: 'sig' } }
}

/** A confidential client of the client credentials grant (a service calling the API), allowed `scope` (space-separated). */
export function serviceClient (clientId: string, secret: string, scope?: string): ClientMetadata {
  return {
    client_id: clientId,
    client_secret: secret,
    grant_types: ['client_credentials'],
    redirect_uris: [],
    response_types: [],
    ...(scope === undefined ? {} : { scope })
  }
}

/** How a user signs in, chosen by the test from the authorization request's parameters (`acr_values`, `max_age`). */
export type SignIn = (params: Record<string, unknown>) => NonNullable<InteractionResults['login']>

export interface ProviderOptions {
  keys: JsonWebKey[]
  clients: ClientMetadata[]
  scopes: string[]
  /** Its development sign-in and consent pages (for a browser), and calls from pages of other origins. */
  interactive?: boolean
  /** Sign-ins without a page: each interaction ends at once with this login, and consent to every scope asked for. */
  signIn?: SignIn
  /** The acr values the provider announces and puts in ID tokens. */
  acrValues?: string[]
  /** Claims added to the access tokens it issues (oidc-provider's `extraTokenClaims`). */
  extraTokenClaims?: Configuration['extraTokenClaims']
  /** Require a server nonce in every DPoP proof (RFC 9449 §8). */
  dpopNonce?: boolean
  /** The algorithm of its JWT access tokens (a key of `keys` must fit it). Default ES256. */
  accessTokenAlg?: AsymmetricSigningAlgorithm
  /** Rewrite the payload of each JWT access token before it is signed (oidc-provider's `formats.customizers.jwt`), e.g. scopes in `scp`. */
  accessTokenPayload?: (payload: Record<string, unknown>) => void
  /**
   * Dynamic client registration (RFC 7591) at `/reg`, open to anyone (no initial access token).
   * A registration's `scope` is not kept: oidc-provider would refuse resource scopes in it, and
   * would limit the client to it, so a client that registered asking for one scope could never
   * step up to another.
   */
  registration?: boolean
  /**
   * Resource servers by their indicator (RFC 8707) with the scopes each grants: tokens for one are
   * JWTs whose `aud` is that indicator, and a request naming no resource gets the first. Instead
   * of RESOURCE with `scopes`, which then lists only the provider's own (OpenID) scopes.
   */
  resources?: Record<string, string[]>
}

/**
 * panva's oidc-provider, in-process on 127.0.0.1:`port`, signing with the first of `keys` and
 * issuing JWT access tokens for RESOURCE with `scopes`; DPoP (RFC 9449) on, as it is by default.
 * Returns a function that stops it.
 */
export async function startProvider (port: number, options: ProviderOptions): Promise<() => Promise<void>> {
  const servers = options.resources
  const provider = new Provider(`http://127.0.0.1:${port}`, {
    jwks: { keys: options.keys as never },
    clients: options.clients.map((client) => ({ id_token_signed_response_alg: 'ES256', ...client })),
    scopes: options.scopes,
    ttl: { ClientCredentials: 600 },
    ...(options.interactive === true ? { clientBasedCORS: () => true } : {}),
    ...(options.signIn === undefined ? {} : { interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` } }),
    ...(options.acrValues === undefined ? {} : { acrValues: options.acrValues }),
    ...(options.extraTokenClaims === undefined ? {} : { extraTokenClaims: options.extraTokenClaims }),
    ...(options.accessTokenPayload === undefined
      ? {}
      : { formats: { customizers: { jwt: (_ctx, _token, jwt) => { options.accessTokenPayload?.(jwt.payload as Record<string, unknown>) } } } }),
    // Registered clients sign ID tokens with the provider's only key type.
    ...(options.registration === true
      ? {
          clientDefaults: { id_token_signed_response_alg: 'ES256' },
          extraClientMetadata: { properties: ['scope'], validator: (_ctx, _key, _value, metadata) => { delete metadata.scope } }
        }
      : {}),
    features: {
      registration: { enabled: options.registration === true },
      devInteractions: { enabled: options.interactive === true },
      clientCredentials: { enabled: true },
      dPoP: { enabled: true, ...(options.dpopNonce === true ? { nonceSecret: randomBytes(32), requireNonce: () => true } : {}) },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => servers === undefined ? RESOURCE : Object.keys(servers)[0],
        useGrantedResource: () => true,
        getResourceServerInfo: (_ctx, indicator) => {
          const scope = servers === undefined ? options.scopes : servers[indicator]
          if (scope === undefined) throw new errors.InvalidTarget()
          const audience = servers === undefined ? RESOURCE : indicator
          return { scope: scope.join(' '), audience, accessTokenFormat: 'jwt', jwt: { sign: { alg: options.accessTokenAlg ?? 'ES256' } } }
        }
      }
    }
  })
  const callback = provider.callback()
  const signIn = options.signIn
  const server = createServer((req, res) => {
    if (signIn === undefined || req.url?.startsWith('/interaction/') !== true) return callback(req, res)
    interact(provider, signIn, req, res).catch((err: unknown) => {
      res.statusCode = 500
      res.end(String(err))
    })
  })
  server.listen(port, '127.0.0.1')
  await new Promise<void>((resolve) => server.once('listening', resolve))
  return async () => {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  }
}

/** One interaction, ended without a page: the login `signIn` gives, or consent to what the prompt says is missing. */
async function interact (provider: Provider, signIn: SignIn, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const { prompt, params, session } = await provider.interactionDetails(req, res)
  if (prompt.name === 'login') {
    await provider.interactionFinished(req, res, { login: signIn(params) }, { mergeWithLastSubmission: false })
    return
  }
  const missing = prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[]; missingResourceScopes?: Record<string, string[]> }
  const grant = new provider.Grant({ accountId: session?.accountId, clientId: String(params.client_id) })
  if (missing.missingOIDCScope !== undefined) grant.addOIDCScope(missing.missingOIDCScope.join(' '))
  if (missing.missingOIDCClaims !== undefined) grant.addOIDCClaims(missing.missingOIDCClaims)
  for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) grant.addResourceScope(indicator, scopes.join(' '))
  await provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } }, { mergeWithLastSubmission: true })
}

/**
 * A user agent without a page: from an authorization request (`url`) through the provider's
 * redirects, its cookies kept, to the redirect back to `redirectUri`: that URL, with the code.
 */
export async function authorize (url: URL, redirectUri: string): Promise<URL> {
  const cookies = new Map<string, string>()
  let next = url.href
  for (let hop = 0; hop < 10; hop++) {
    const res = await fetch(next, { redirect: 'manual', headers: { cookie: [...cookies].map(([name, value]) => `${name}=${value}`).join('; ') } })
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';')
      const at = pair.indexOf('=')
      const value = pair.slice(at + 1)
      if (value === '') cookies.delete(pair.slice(0, at))
      else cookies.set(pair.slice(0, at), value)
    }
    const location = res.headers.get('location')
    if (location === null) throw new Error(`the provider answered ${res.status} without a redirect: ${await res.text()}`)
    next = new URL(location, next).href
    if (next.startsWith(redirectUri)) return new URL(next)
  }
  throw new Error('too many redirects')
}
