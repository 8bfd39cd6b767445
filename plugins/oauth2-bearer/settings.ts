import type { TObject } from '@sinclair/typebox'
import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler'
import { errors } from '../errors.js'
import { booleanOption, functionOption, integerOption, pathOption, schemeOptions, scopeDescriptions, stringOption, urlOption } from '../core/option-checks.js'
import { ALGORITHMS, ASYMMETRIC, type Algorithm } from './keys.js'
import { issuerKeys, loadKeys, type Keys } from './key-sources.js'
import { resourceMetadata } from './document.js'
import type { ClaimRules } from './verify.js'
import type { IssuerOptions, OAuth2BearerOptions, OneIssuerOptions, PerIssuerOption, SeveralIssuersOptions } from './options.js'
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
  /** The issuers of `issuers`, each with its keys and policy; `undefined` in the single-issuer form. */
  readonly several: readonly IssuerPolicy[] | undefined
}

/** One issuer of a scheme with several: its keys, algorithm allow-list, claim rules and scope mapping. */
export interface IssuerPolicy {
  readonly issuer: string
  /** Its security scheme's name in the OpenAPI document. */
  readonly name: string
  readonly keys: Keys
  readonly allowed: ReadonlySet<Algorithm>
  readonly rules: ClaimRules
  readonly claimScopes: OAuth2BearerOptions['claimScopes']
  readonly documentation: IssuerOptions['documentation']
  /** Whether its logins count for step-up. */
  readonly stepUp: boolean
}

/** The top-level options that each issuer of `issuers` takes instead. */
const PER_ISSUER: readonly PerIssuerOption[] = [
  'issuer', 'audience', 'secret', 'signingKey', 'algorithm', 'algorithms', 'verificationKeys', 'jwksUrl', 'discovery',
  'keySet', 'tokenTypes', 'requireJti', 'claimScopes', 'documentation'
]

/** What an entry of `issuers` takes; anything else (a callback of the scheme's, a misspelling) is refused, never ignored. */
const ISSUER_OPTIONS: ReadonlySet<string> = new Set([
  'issuer', 'audience', 'discovery', 'jwksUrl', 'keys', 'algorithms', 'tokenTypes', 'claimScopes', 'requireJti', 'keySet', 'documentation', 'name', 'stepUp'
])

/** A scheme that verifies, signs nothing and publishes no keys: the scheme-wide `keys` of `issuers`. */
const NO_KEYS: Keys = { signing: undefined, local: [], publicKeys: [], resolve: () => undefined }

function listOption (name: string, value: string | string[]): string[] {
  const list = Array.isArray(value) ? value.map((v, i) => stringOption(`${name}[${i}]`, v)) : [stringOption(name, value)]
  if (list.length === 0) throw new errors.WARDEN_ERR_OPTION(name, `must name at least one ${name}`)
  return list
}

function algorithmsOption (option: string, algorithms: Algorithm[] | undefined, keys: Keys): ReadonlySet<Algorithm> {
  if (
    algorithms !== undefined &&
    (!Array.isArray(algorithms) || algorithms.length === 0 || algorithms.some((a) => !(ALGORITHMS as readonly string[]).includes(a)))
  ) {
    throw new errors.WARDEN_ERR_OPTION(option, `must be a non-empty list of ${ALGORITHMS.join(', ')}`)
  }
  // The allow-list is explicit: the configured one, the local keys' own, or (resource server)
  // every asymmetric algorithm, each key still verifying only those of its type.
  if (algorithms !== undefined) return new Set(algorithms)
  if (keys.remote !== undefined) return new Set(ASYMMETRIC)
  return new Set<Algorithm>(keys.signing === undefined ? keys.local.flatMap((k) => [...k.algs]) : keys.local.map((k) => k.alg))
}

function tokenTypesOption (option: string, tokenTypes: Array<string | null> | undefined): Array<string | null> {
  if (tokenTypes === undefined) return ['at+jwt', 'application/at+jwt']
  if (!Array.isArray(tokenTypes)) throw new errors.WARDEN_ERR_OPTION(option, 'must be a list of typ values (null for none)')
  return tokenTypes.map((t, i) => (t === null ? null : stringOption(`${option}[${i}]`, t).toLowerCase()))
}

/** A default document name for an issuer: the scheme's name, a dot, its host and path in the characters a component name takes. */
function issuerName (scheme: string, issuer: string): string {
  return `${scheme}.${issuer.replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').replace(/[^A-Za-z0-9.-]+/g, '_').replace(/^_+|_+$/g, '')}`
}

/** The `issuers` option: each issuer's keys and policy, each error naming `issuers[i].option`. */
function severalIssuers (
  opts: OAuth2BearerOptions,
  scheme: string,
  shared: { clockTolerance: number; now: () => number }
): IssuerPolicy[] {
  for (const option of PER_ISSUER) {
    if ((opts as Partial<Record<PerIssuerOption, unknown>>)[option] !== undefined) {
      throw new errors.WARDEN_ERR_OPTION(option, "cannot be combined with 'issuers': give it to each issuer")
    }
  }
  const entries = (opts as SeveralIssuersOptions).issuers
  if (!Array.isArray(entries) || entries.length === 0) throw new errors.WARDEN_ERR_OPTION('issuers', 'must be a non-empty list of issuers')
  const policies: IssuerPolicy[] = []
  for (const [i, entry] of entries.entries()) {
    const prefix = `issuers[${i}].`
    if (entry === null || typeof entry !== 'object') throw new errors.WARDEN_ERR_OPTION(`issuers[${i}]`, 'must be an object')
    const other = Object.keys(entry).find((key) => !ISSUER_OPTIONS.has(key))
    if (other !== undefined) {
      throw new errors.WARDEN_ERR_OPTION(
        `${prefix}${other}`,
        `is not an option of an issuer (${[...ISSUER_OPTIONS].join(', ')}); the scheme's own go beside 'issuers'`
      )
    }
    const issuer = stringOption(`${prefix}issuer`, entry.issuer)
    if (policies.some((p) => p.issuer === issuer)) throw new errors.WARDEN_ERR_OPTION(`${prefix}issuer`, `'${issuer}' is given twice`)
    const name = entry.name === undefined ? issuerName(scheme, issuer) : stringOption(`${prefix}name`, entry.name)
    if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new errors.WARDEN_ERR_OPTION(`${prefix}name`, 'must be letters, digits, dots, hyphens and underscores (an OpenAPI component name)')
    if (policies.some((p) => p.name === name)) throw new errors.WARDEN_ERR_OPTION(`${prefix}name`, `'${name}' names another issuer: give each its own`)
    const keys = issuerKeys(prefix, entry, shared.now)
    const audiences = listOption(`${prefix}audience`, entry.audience)
    policies.push({
      issuer,
      name,
      keys,
      allowed: algorithmsOption(`${prefix}algorithms`, entry.algorithms, keys),
      rules: {
        issuers: [issuer],
        audiences,
        tokenTypes: tokenTypesOption(`${prefix}tokenTypes`, entry.tokenTypes),
        requireJti: booleanOption(`${prefix}requireJti`, entry.requireJti, true),
        ...shared
      },
      claimScopes: functionOption<NonNullable<OAuth2BearerOptions['claimScopes']>>(`${prefix}claimScopes`, entry.claimScopes),
      documentation: entry.documentation,
      stepUp: booleanOption(`${prefix}stepUp`, entry.stepUp, true)
    })
  }
  return policies
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
  const several = (opts as Partial<SeveralIssuersOptions>).issuers === undefined ? undefined : severalIssuers(opts, name, { clockTolerance, now })
  const one = opts as OneIssuerOptions
  const issuers = several === undefined ? listOption('issuer', one.issuer) : several.map((p) => p.issuer)
  const audiences = several === undefined ? listOption('audience', one.audience) : [...new Set(several.flatMap((p) => p.rules.audiences))]
  const tokenTypes = tokenTypesOption('tokenTypes', opts.tokenTypes)
  const ownClaims = claimsOption(opts.claims)
  const dpop = dpopSettings(opts.dpop, now, clockTolerance)
  const keys = several === undefined ? loadKeys(opts, now) : NO_KEYS
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
    allowed: several === undefined ? algorithmsOption('algorithms', opts.algorithms, keys) : new Set(),
    rules: { issuers, audiences, tokenTypes, requireJti: booleanOption('requireJti', opts.requireJti, true), clockTolerance, now },
    ownClaims,
    isRevoked: functionOption<NonNullable<OAuth2BearerOptions['isRevoked']>>('isRevoked', opts.isRevoked),
    resolveUser: functionOption<NonNullable<OAuth2BearerOptions['resolveUser']>>('resolveUser', opts.resolveUser),
    claimScopes: functionOption<NonNullable<OAuth2BearerOptions['claimScopes']>>('claimScopes', opts.claimScopes),
    cacheMax: opts.cache === undefined || opts.cache === false ? undefined : integerOption('cache.max', opts.cache.max, 10_000, 1, 10_000_000),
    metadata: opts.resourceMetadata === undefined ? undefined : resourceMetadata(opts.resourceMetadata, Object.keys(described), dpop, issuers),
    jwksPath: keys.publicKeys.length === 0 ? undefined : jwksPath,
    dpop,
    several
  }
}
