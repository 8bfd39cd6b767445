import type { FastifyInstance } from 'fastify'
import type { SecurityScheme } from '../core/types.js'
import type { WardenRoute } from '../core/warden.js'

type Headers = Record<string, string>

export interface ContractOptions {
  /**
   * Headers carrying a valid credential of each scheme that grants exactly `scopes` (the check
   * asks for `[]` to see a 403). A scheme without an entry is only checked with no and with
   * invalid credentials.
   */
  credentials?: Record<string, (scopes: string[]) => Headers | Promise<Headers>>
  /** Headers with an invalid credential per scheme. Default: made up from the scheme's type. */
  invalid?: Record<string, Headers>
  /** Fill a route's path parameters. Default: every `:param` becomes a UUID-shaped value. */
  path?: (url: string) => string
}

/** An operation whose answer differs from the requirement it documents. */
export interface ContractFinding {
  operation: string
  case: string
  expected: number
  actual: number
  /** Whether the status the operation answered is among the responses its document lists. */
  documented: boolean
}

const PLACEHOLDER = '00000000-0000-4000-8000-000000000000'

/** A credential of the scheme's kind that no server accepts. */
function madeUpCredential (scheme: SecurityScheme): Headers | undefined {
  const doc = scheme.openapi as { type: string; scheme?: string; in?: string; name?: string }
  if (doc.type === 'oauth2' || (doc.type === 'http' && doc.scheme === 'bearer')) return { authorization: 'Bearer eyJhbGciOiJIUzI1NiJ9.e30.invalid' }
  if (doc.type === 'http' && doc.scheme === 'basic') return { authorization: 'Basic ' + Buffer.from('nobody:not the password').toString('base64') }
  if (doc.type === 'apiKey' && doc.in === 'header' && doc.name !== undefined) return { [doc.name.toLowerCase()]: 'invalid-api-key' }
  return undefined
}

/**
 * Call every secured operation of a ready app with no credentials, with an invalid one per
 * scheme, and with a valid one that lacks the route's scopes, and report each answer that is not
 * the 401 or 403 its OpenAPI security requirement promises. An empty list means the app enforces
 * what it documents. Put it in your own test suite:
 *
 * @example
 * const findings = await checkSecurityContract(app, {
 *   credentials: { oauth2: (scopes) => ({ authorization: `Bearer ${app.accessTokens.sign({ sub: 'test', scope: scopes }).token}` }) }
 * })
 * assert.deepEqual(findings, [])
 */
export async function checkSecurityContract (app: FastifyInstance, options: ContractOptions = {}): Promise<ContractFinding[]> {
  const findings: ContractFinding[] = []
  const fill = options.path ?? ((url: string) => url.replace(/:[A-Za-z0-9_]+/g, PLACEHOLDER).replace(/\*$/, 'x'))

  async function expect (route: WardenRoute, label: string, headers: Headers, expected: number): Promise<void> {
    const res = await app.inject({ method: route.method as 'GET', url: fill(route.url), headers })
    if (res.statusCode !== expected || (expected === 401 && res.headers['www-authenticate'] === undefined)) {
      findings.push({
        operation: `${route.method} ${route.url}`,
        case: label,
        expected,
        actual: res.statusCode,
        documented: route.documented.includes(String(res.statusCode))
      })
    }
  }

  for (const route of app.warden.routes) {
    if (route.method === 'HEAD' || route.method === 'OPTIONS') continue
    const optional = route.security.some((alt) => Object.keys(alt).length === 0)
    if (route.security.length === 0 || optional) continue
    await expect(route, 'no credentials', {}, 401)
    const names = [...new Set(route.security.flatMap((alt) => Object.keys(alt)))]
    for (const name of names) {
      const scheme = app.warden.schemes.get(name)
      const invalid = options.invalid?.[name] ?? (scheme === undefined ? undefined : madeUpCredential(scheme))
      if (invalid !== undefined) await expect(route, `invalid ${name} credentials`, invalid, 401)
    }
    // Too few scopes: only single-scheme alternatives can be satisfied by one credential.
    for (const alt of route.security) {
      const [name, ...others] = Object.keys(alt)
      if (others.length > 0 || alt[name].length === 0 || options.credentials?.[name] === undefined) continue
      await expect(route, `${name} credentials without ${alt[name].join(' ')}`, await options.credentials[name]([]), 403)
    }
  }
  return findings
}
