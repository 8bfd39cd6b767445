import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { errors } from '../errors.js'
import { API_HEADERS } from './api-headers.js'
import { frozenProblem, PROBLEM_CONTENT_TYPE } from '../core/problem.js'
import { securityEvent } from '../core/events.js'

export interface TrustedHostsOptions {
  /** Host names this API answers to: `api.example.com`, `api.example.com:8443`, or `*.example.com` for any subdomain. */
  hosts: string[]
}

// RFC 9110 §7.2 and RFC 3986 §3.2.2, narrowed to what names a host on the Internet: DNS labels of
// letters, digits and inner hyphens (an IPv4 address is such a name too), or a bracketed IPv6
// address; then an optional port. Nothing else (`/`, `?`, `#`, `@`, `\`, spaces, empty labels)
// can stand in an authority we compare.
const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?'
const NAME = `(?:${LABEL}(?:\\.${LABEL})*|\\[[0-9a-f:.]{2,45}\\])`
const AUTHORITY = new RegExp(`^(${NAME})(?::([0-9]{1,5}))?$`)
const ENTRY = new RegExp(`^(\\*\\.)?(${NAME})(?::([0-9]{1,5}))?$`)

interface Authority { name: string, port: number | undefined }

/** A port of 1 to 65535, or a fault. */
function port (digits: string | undefined): number | undefined | false {
  if (digits === undefined) return undefined
  const n = Number(digits)
  return n >= 1 && n <= 65_535 ? n : false
}

/** `host[:port]` as RFC 9110 has it (lower case, at most 253 characters of name), or undefined. */
export function parseAuthority (value: string): Authority | undefined {
  const match = AUTHORITY.exec(value.toLowerCase())
  if (match === null || match[1].length > 253) return undefined
  const p = port(match[2])
  return p === false ? undefined : { name: match[1], port: p }
}

/** Whether `value` is a host entry: `api.example.com`, `api.example.com:8443` or `*.example.com`. */
export function isHostEntry (value: unknown): value is string {
  if (typeof value !== 'string') return false
  const match = ENTRY.exec(value.toLowerCase())
  return match !== null && port(match[3]) !== false
}

/** The `Host` of a request, once: two `Host` lines (Node keeps the first) are refused. */
function hostLines (request: FastifyRequest): number {
  const raw = request.raw.rawHeaders
  let count = 0
  // Stryker disable next-line ConditionalExpression: equivalent, the length only spares lower-casing other names
  for (let i = 0; i < raw.length; i += 2) if (raw[i].length === 4 && raw[i].toLowerCase() === 'host') count++
  return count
}

/**
 * The authority a request is addressed to that does not match: the `Host` (or, with
 * `trustProxy`, the forwarded host), and the request target's own when it is in absolute form
 * (`GET http://evil.test/x`, RFC 9112 §3.2.2). `undefined` when all are ours.
 */
function foreign (request: FastifyRequest, trusted: (authority: Authority) => boolean): string | undefined {
  const host = request.host
  const parsed = parseAuthority(host)
  if (parsed === undefined || !trusted(parsed) || hostLines(request) > 1) return host
  // Always set on a request the server received.
  const target = request.raw.url as string
  if (target.startsWith('/') || (target === '*' && request.method === 'OPTIONS')) return undefined
  // Absolute form: its authority is the one the request is for, and it must be ours too.
  const authority = /^https?:\/\/([^/?#]*)/i.exec(target)?.[1]
  const own = authority === undefined ? undefined : parseAuthority(authority)
  return own !== undefined && trusted(own) ? undefined : target
}

/**
 * Refuse requests whose `Host` is not ours (400), so host-header attacks (poisoned links in
 * mails, cache poisoning) find nothing. With `trustProxy`, the forwarded host is checked.
 */
const trustedHostsPlugin: FastifyPluginAsync<TrustedHostsOptions> = async (fastify, opts) => {
  if (!Array.isArray(opts.hosts) || opts.hosts.length === 0) throw new errors.WARDEN_ERR_OPTION('hosts', 'must list at least one host name')
  const entries = opts.hosts.map((raw, i) => {
    if (!isHostEntry(raw)) throw new errors.WARDEN_ERR_OPTION(`hosts[${i}]`, `'${String(raw)}' is not a host name`)
    const match = ENTRY.exec(raw.toLowerCase()) as RegExpExecArray
    return { wildcard: match[1] !== undefined, name: match[2], port: port(match[3]) as number | undefined }
  })
  // An entry without a port admits any port; `*.example.com` any subdomain, not the apex.
  const trusted = ({ name, port }: Authority): boolean => entries.some((e) =>
    (e.port === undefined || e.port === port) &&
    // The grammar allows no empty label, so a name that ends in `.example.com` has one before it.
    (e.wildcard ? name.endsWith('.' + e.name) : name === e.name))
  const body = frozenProblem(400, 'The Host header names a host this API does not serve.')
  fastify.addHook('onRequest', async (request, reply) => {
    const refused = foreign(request, trusted)
    if (refused === undefined) return
    securityEvent(request, 'request.host.refused', { host: refused.slice(0, 100) }, 'untrusted Host header')
    // Sent before the security-header plugin's own hook may run: the headers come from here.
    return await reply.headers(API_HEADERS).code(400).type(PROBLEM_CONTENT_TYPE).send(body)
  })
}

/** Only answer requests addressed to the configured host names. */
export const trustedHosts = fp(trustedHostsPlugin, {
  // Stryker disable next-line StringLiteral: equivalent on Fastify 5, the only one the tests run
  fastify: '5.x',
  name: 'fastify-warden/trusted-hosts'
})
export default trustedHosts
