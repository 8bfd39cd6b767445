/**
 * The security headers of an API answer (nothing may load, frame or be framed). The
 * `securityHeaders` plugin sends them through @fastify/helmet; answers that Fastify makes before
 * any hook can run (a malformed URL) carry them from here.
 */
export const API_CSP_DIRECTIVES = { defaultSrc: ["'none'"], frameAncestors: ["'none'"], baseUri: ["'none'"], formAction: ["'none'"] }

const kebab = (name: string): string => name.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())

export const API_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-security-policy': Object.entries(API_CSP_DIRECTIVES).map(([k, v]) => `${kebab(k)} ${v.join(' ')}`).join('; '),
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store'
})
