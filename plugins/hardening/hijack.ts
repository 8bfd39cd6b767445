import type { ServerResponse } from 'node:http'
import type { FastifyReply } from 'fastify'

/** The body's own framing, which whoever writes the body sets. */
const FRAMING = new Set(['content-length', 'transfer-encoding'])

/** `no-store` added to a Cache-Control value that lacks it (`no-cache, no-transform` of an event stream). */
function withNoStore (value: unknown): string {
  const text = Array.isArray(value) ? value.join(', ') : String(value)
  return /(^|,)\s*no-store\s*(,|$)/i.test(text) ? text : `${text}, no-store`
}

/** The writer's headers (an object, or Node's flat list of names and values) with `no-store` in Cache-Control: a copy, its own left as is. */
function headersWithNoStore (headers: unknown): unknown {
  const cacheControl = (name: unknown): boolean => typeof name === 'string' && name.toLowerCase() === 'cache-control'
  if (Array.isArray(headers)) return headers.map((value, i) => (i % 2 === 1 && cacheControl(headers[i - 1]) ? withNoStore(value) : value))
  if (headers === null || typeof headers !== 'object') return headers
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, cacheControl(name) ? withNoStore(value) : value]))
}

/**
 * An authenticated answer stays out of caches whatever its writer sets: `no-store` is added to
 * the writer's own Cache-Control when its headers are written (`writeHead`, in any of its forms).
 */
function keepNoStore (raw: ServerResponse): void {
  const writeHead = raw.writeHead
  raw.writeHead = function (this: ServerResponse, ...args: unknown[]) {
    if (args.length > 1) args[args.length - 1] = headersWithNoStore(args[args.length - 1])
    this.setHeader('cache-control', withNoStore(this.getHeader('cache-control') ?? 'no-store'))
    return (writeHead as (...a: unknown[]) => ServerResponse).apply(this, args)
  } as ServerResponse['writeHead']
}

/**
 * `reply.hijack()` that keeps what the app's hooks put on the reply. A hijacked reply is written
 * by someone else (the MCP SDK's transport, an SSE library) on the raw response, and Fastify sends
 * none of the headers its hooks set on the reply: CORS (a browser then cannot read the answer),
 * the request id, rate-limit headers. They are copied to the raw response first (what the writer
 * sets itself still wins, but for the body's framing, never copied); an authenticated answer is
 * `no-store`, added to whatever Cache-Control the writer sets, as `securityHeaders` makes the
 * replies Fastify sends.
 */
export function hijackWithHeaders (reply: FastifyReply): FastifyReply {
  const raw = reply.raw
  if (!raw.headersSent) {
    for (const [name, value] of Object.entries(reply.getHeaders())) {
      if (value !== undefined && !FRAMING.has(name.toLowerCase())) raw.setHeader(name, value)
    }
    if (reply.request.auth != null) keepNoStore(raw)
  }
  reply.hijack()
  return reply
}
