import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import { errors } from './core/errors.js'
import { problem, sendProblem } from './core/problem.js'
import { securityEvent } from './core/events.js'

export interface TrustedHostsOptions {
  /** Host names this API answers to: `api.example.com`, `api.example.com:8443`, or `*.example.com` for any subdomain. */
  hosts: string[]
}

const ENTRY = /^(\*\.)?[a-z0-9.-]+(:\d{1,5})?$/

/** Whether `value` is a host entry: `api.example.com`, `api.example.com:8443` or `*.example.com`. */
export function isHostEntry (value: unknown): value is string {
  return typeof value === 'string' && ENTRY.test(value.toLowerCase())
}

/**
 * Refuse requests whose `Host` is not ours (400), so host-header attacks (poisoned links in
 * mails, cache poisoning) find nothing. With `trustProxy`, the forwarded host is checked.
 */
const trustedHostsPlugin: FastifyPluginAsync<TrustedHostsOptions> = async (fastify, opts) => {
  if (!Array.isArray(opts.hosts) || opts.hosts.length === 0) throw new errors.WARDEN_ERR_OPTION('hosts', 'must list at least one host name')
  const exact = new Set<string>()
  const suffixes: string[] = []
  for (const [i, raw] of opts.hosts.entries()) {
    if (!isHostEntry(raw)) throw new errors.WARDEN_ERR_OPTION(`hosts[${i}]`, `'${String(raw)}' is not a host name`)
    const host = raw.toLowerCase()
    if (host.startsWith('*.')) suffixes.push(host.slice(1))
    else exact.add(host)
  }
  const trusted = (host: string): boolean => {
    if (exact.has(host)) return true
    const name = host.replace(/:\d+$/, '')
    if (exact.has(name)) return true
    return suffixes.some((suffix) => suffix.includes(':') ? host.endsWith(suffix) && host.length > suffix.length : name.endsWith(suffix) && name.length > suffix.length)
  }
  const body = JSON.stringify(problem(400, 'The Host header names a host this API does not serve.'))
  fastify.addHook('onRequest', async (request, reply) => {
    const host = (request.host ?? '').toLowerCase()
    if (!trusted(host)) {
      securityEvent(request, 'request.host.refused', { host: host.slice(0, 100) }, 'untrusted Host header')
      return await sendProblem(reply, 400, body)
    }
  })
}

/** Only answer requests addressed to the configured host names. */
export const trustedHosts = fp(trustedHostsPlugin, { fastify: '5.x', name: 'fastify-warden/trusted-hosts' })
export default trustedHosts
