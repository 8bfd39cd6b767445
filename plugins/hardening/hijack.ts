import type { FastifyReply } from 'fastify'

/** The body's own framing, which whoever writes the body sets. */
const FRAMING = new Set(['content-length', 'transfer-encoding'])

/**
 * `reply.hijack()` that keeps what the app's hooks put on the reply. A hijacked reply is written
 * by someone else (the MCP SDK's transport, an SSE library) on the raw response, and Fastify sends
 * none of the headers its hooks set on the reply: CORS (a browser then cannot read the answer),
 * the request id, rate-limit headers. They are copied to the raw response first (what the writer
 * sets itself still wins); an authenticated answer is `Cache-Control: no-store` unless a hook
 * said otherwise, as `securityHeaders` makes the replies Fastify sends.
 */
export function hijackWithHeaders (reply: FastifyReply): FastifyReply {
  const raw = reply.raw
  if (!raw.headersSent) {
    for (const [name, value] of Object.entries(reply.getHeaders())) {
      if (value !== undefined && !FRAMING.has(name.toLowerCase())) raw.setHeader(name, value)
    }
    if (reply.request.auth != null && !raw.hasHeader('cache-control')) raw.setHeader('cache-control', 'no-store')
  }
  reply.hijack()
  return reply
}
