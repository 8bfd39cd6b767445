import { errors } from '../errors.js'
import { functionOption, integerOption, schemeOptions, stringOption } from '../core/option-checks.js'
import { ApiKeyHasher } from './digest.js'
import { staticKeyRecords } from './records.js'
import type { ApiKeyOptions, ApiKeyRecord } from './options.js'

/** The scheme's options, checked once at registration; each error names the option at fault. */
export interface ApiKeySettings {
  readonly name: string
  readonly realm: string
  readonly scopes: ReadonlySet<string>
  /** The header as configured (documented and named in the challenge). */
  readonly header: string
  readonly description: string | undefined
  readonly hasher: ApiKeyHasher
  readonly lookup: ApiKeyOptions['lookup']
  /** Keys from configuration, by prefix; only their digests are kept. */
  readonly staticKeys: ReadonlyMap<string, ApiKeyRecord>
  /** The verified-key cache: `undefined` when off. */
  readonly cache: { readonly ttl: number, readonly max: number } | undefined
  readonly resolveUser: ApiKeyOptions['resolveUser']
  readonly onUse: ApiKeyOptions['onUse']
  readonly now: () => number
}

function headerOption (value: unknown): string {
  const header = stringOption('header', value, 'X-API-Key')
  if (!/^[A-Za-z0-9-]{1,64}$/.test(header) || header.toLowerCase() === 'authorization') {
    throw new errors.WARDEN_ERR_OPTION('header', 'must be a header name other than Authorization')
  }
  return header
}

function cacheOption (cache: ApiKeyOptions['cache']): ApiKeySettings['cache'] {
  if (!cache) return undefined
  return {
    ttl: integerOption('cache.ttl', cache.ttl, 30, 1, 3600),
    max: integerOption('cache.max', cache.max, 10_000, 1, 10_000_000)
  }
}

export function apiKeySettings (
  opts: ApiKeyOptions,
  core: { realm: string, scopes: Readonly<Record<string, string>> }
): ApiKeySettings {
  const { name, realm, scopes } = schemeOptions(core, opts, 'apiKey')
  const header = headerOption(opts.header)
  const hasher = new ApiKeyHasher('secret', opts.secret)
  const lookup = functionOption<NonNullable<ApiKeyOptions['lookup']>>('lookup', opts.lookup)
  const now = functionOption<() => number>('now', opts.now) ?? Date.now
  const cache = cacheOption(opts.cache)
  const staticKeys = staticKeyRecords(opts.keys, hasher, core.scopes)
  if (lookup === undefined && staticKeys.size === 0) {
    throw new errors.WARDEN_ERR_OPTION('lookup', "or 'keys' must be given")
  }
  return {
    name,
    realm,
    scopes,
    header,
    description: opts.description,
    hasher,
    lookup,
    staticKeys,
    cache,
    onUse: functionOption<NonNullable<ApiKeyOptions['onUse']>>('onUse', opts.onUse),
    resolveUser: functionOption<NonNullable<ApiKeyOptions['resolveUser']>>('resolveUser', opts.resolveUser),
    now
  }
}
