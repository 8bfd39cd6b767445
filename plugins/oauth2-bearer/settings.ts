import type { TObject } from '@sinclair/typebox'
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler'
import { errors } from '../errors.js'
import { functionOption, integerOption, pathOption, schemeOptions, scopeDescriptions, stringOption, urlOption } from '../core/option-checks.js'
import { ALGORITHMS, ASYMMETRIC, type Algorithm } from './keys.js'
import { loadKeys, type Keys } from './key-sources.js'
import { resourceMetadata } from './document.js'
import type { ClaimRules } from './verify.js'
import type { OAuth2BearerOptions } from './options.js'
import { dpopSettings, type DpopSettings } from './dpop.js'

/** The scheme's options, checked once at registration; each error names the option at fault. */
export interface BearerSettings {
  readonly name: string
  readonly realm: string
  readonly scopes: ReadonlySet<string>
  /** The scheme's scopes with their descriptions, in the catalog's order. */
  readonly scopeDescriptions: Readonly<Record<string, string>>
  readonly tokenUrl: string
  readonly refreshUrl: string | undefined
  readonly issuers: readonly string[]
  readonly audiences: readonly string[]
  readonly expiresIn: number
  readonly clockTolerance: number
  readonly now: () => number
  readonly keys: Keys
  /** The algorithm allow-list. */
  readonly allowed: ReadonlySet<Algorithm>
  readonly rules: ClaimRules
  readonly ownClaims: TypeCheck<TObject> | undefined
  readonly isRevoked: OAuth2BearerOptions['isRevoked']
  readonly resolveUser: OAuth2BearerOptions['resolveUser']
  readonly claimScopes: OAuth2BearerOptions['claimScopes']
  readonly cacheMax: number | undefined
  readonly metadata: ReturnType<typeof resourceMetadata> | undefined
  /** Where the public keys are published on this server; `undefined` when they are not (HS256, a provider's keys, `jwksPath: false`). */
  readonly jwksPath: string | undefined
  /** DPoP (RFC 9449), when the scheme takes it. */
  readonly dpop: DpopSettings | undefined
}

function listOption (name: string, value: string | string[]): string[] {
  const list = Array.isArray(value) ? value.map((v, i) => stringOption(`${name}[${i}]`, v)) : [stringOption(name, value)]
  if (list.length === 0) throw new errors.WARDEN_ERR_OPTION(name, `must name at least one ${name}`)
  return list
}

function algorithmsOption (opts: OAuth2BearerOptions, keys: Keys): ReadonlySet<Algorithm> {
  if (
    opts.algorithms !== undefined &&
    (!Array.isArray(opts.algorithms) || opts.algorithms.length === 0 || opts.algorithms.some((a) => !(ALGORITHMS as readonly string[]).includes(a)))
  ) {
    throw new errors.WARDEN_ERR_OPTION('algorithms', `must be a non-empty list of ${ALGORITHMS.join(', ')}`)
  }
  // The allow-list is explicit: the configured one, the local keys' own, or (resource server)
  // every asymmetric algorithm, each key still verifying only those of its type.
  return new Set<Algorithm>(opts.algorithms ?? (keys.signing === undefined ? ASYMMETRIC : keys.local.map((k) => k.alg)))
}

function claimsOption (claims: OAuth2BearerOptions['claims']): BearerSettings['ownClaims'] {
  if (claims === undefined) return undefined
  if (claims === null || typeof claims !== 'object' || claims.type !== 'object') {
    throw new errors.WARDEN_ERR_OPTION('claims', 'must be an object schema (TypeBox Type.Object)')
  }
  return TypeCompiler.Compile(claims)
}

export function bearerSettings (opts: OAuth2BearerOptions, core: { realm: string; scopes: Readonly<Record<string, string>> }): BearerSettings {
  const { name, realm, scopes } = schemeOptions(core, opts, 'oauth2')
  const described = scopeDescriptions(core.scopes, scopes)
  const now = functionOption<() => number>('now', opts.now) ?? Date.now
  const clockTolerance = integerOption('clockTolerance', opts.clockTolerance, 30, 0, 60)
  const issuers = listOption('issuer', opts.issuer)
  const audiences = listOption('audience', opts.audience)
  const tokenTypes =
    opts.tokenTypes === undefined
      ? ['at+jwt', 'application/at+jwt']
      : opts.tokenTypes.map((t, i) => (t === null ? null : stringOption(`tokenTypes[${i}]`, t).toLowerCase()))
  const ownClaims = claimsOption(opts.claims)
  const dpop = dpopSettings(opts.dpop, now, clockTolerance)
  const keys = loadKeys(opts, now)
  const jwksPath = opts.jwksPath === false ? undefined : pathOption('jwksPath', opts.jwksPath, '/.well-known/jwks.json')
  return {
    name,
    realm,
    scopes,
    scopeDescriptions: described,
    tokenUrl: urlOption('tokenUrl', opts.tokenUrl, '/auth/token'),
    refreshUrl: opts.refreshUrl === undefined ? undefined : urlOption('refreshUrl', opts.refreshUrl),
    issuers,
    audiences,
    expiresIn: integerOption('expiresIn', opts.expiresIn, 900, 1, 86_400),
    clockTolerance,
    now,
    keys,
    allowed: algorithmsOption(opts, keys),
    rules: { issuers, audiences, tokenTypes, requireJti: opts.requireJti ?? true, clockTolerance, now },
    ownClaims,
    isRevoked: functionOption<NonNullable<OAuth2BearerOptions['isRevoked']>>('isRevoked', opts.isRevoked),
    resolveUser: functionOption<NonNullable<OAuth2BearerOptions['resolveUser']>>('resolveUser', opts.resolveUser),
    claimScopes: functionOption<NonNullable<OAuth2BearerOptions['claimScopes']>>('claimScopes', opts.claimScopes),
    cacheMax: opts.cache === undefined || opts.cache === false ? undefined : integerOption('cache.max', opts.cache.max, 10_000, 1, 10_000_000),
    metadata: opts.resourceMetadata === undefined ? undefined : resourceMetadata(opts.resourceMetadata, Object.keys(described), dpop, issuers),
    jwksPath: keys.publicKeys.length === 0 ? undefined : jwksPath,
    dpop
  }
}
