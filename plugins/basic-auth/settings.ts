import { errors } from '../errors.js'
import { schemeOptions } from '../core/option-checks.js'
import type { BasicAuthOptions } from './options.js'

/** The scheme's options, checked once at registration; each error names the option at fault. */
export interface BasicAuthSettings {
  readonly name: string
  readonly realm: string
  readonly scopes: ReadonlySet<string>
  readonly description: string | undefined
  readonly verify: BasicAuthOptions['verify']
}

export function basicAuthSettings (
  opts: BasicAuthOptions,
  core: { realm: string, scopes: Readonly<Record<string, string>> }
): BasicAuthSettings {
  const { name, realm, scopes } = schemeOptions(core, opts, 'basic')
  if (typeof opts.verify !== 'function') {
    throw new errors.WARDEN_ERR_OPTION('verify', 'must be a function (username, password, request) => user | null')
  }
  return { name, realm, scopes, description: opts.description, verify: opts.verify }
}
