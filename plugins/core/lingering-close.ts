import type { FastifyInstance } from 'fastify'
import type { IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'

/** How long, and for how many more bytes, a connection that is closing reads what its client still sends. */
export const LINGER: Readonly<{ ms: number, bytes: number }> = Object.freeze({ ms: 5_000, bytes: 16 * 1024 * 1024 })
const kLingering = Symbol('fastify-warden.lingering')

/**
 * Close a connection the way nginx's lingering close does: the answer is sent and the write side
 * shut (FIN), then what the client is still sending is read and dropped until it stops, for at
 * most `limits.ms` and `limits.bytes`, before the socket is destroyed. Destroying a socket with
 * unread data makes the kernel answer with a reset, which takes the unread answer with it: a
 * client still uploading a body over the limit got "connection reset" instead of its 413.
 */
export function linger (socket: Socket & { [kLingering]?: true }, request: IncomingMessage, limits = LINGER): void {
  if (socket[kLingering] === true) return
  socket[kLingering] = true
  socket.destroySoon = function lingeringClose (this: Socket) {
    let dropped = 0
    const stop = (): void => { this.destroy() }
    const timer = setTimeout(stop, limits.ms)
    // Stryker disable next-line CallExpression: equivalent for every request; it only spares a process that is exiting the wait
    timer.unref()
    this.once('close', () => { clearTimeout(timer) })
    this.end()
    // The HTTP parser still reads the socket: the rest of the body comes through the request.
    request.removeAllListeners('data')
    request.on('data', (chunk: Buffer) => { dropped += chunk.length; if (dropped > limits.bytes) stop() })
    request.once('end', stop)
    request.resume()
  }
}

/**
 * Every answer sent before its request's body was read: the connection closes (`Connection:
 * close`), lingering (see `linger`). A refusal at authentication, a 413, a 503 while closing:
 * Node would otherwise read the rest of the body on a kept-alive connection, however long.
 */
export function lingeringClose (fastify: FastifyInstance): void {
  fastify.addHook('onSend', (request, reply, payload, done) => {
    if (!request.raw.complete) {
      reply.header('connection', 'close')
      linger(request.raw.socket, request.raw)
    }
    done(null, payload)
  })
}
