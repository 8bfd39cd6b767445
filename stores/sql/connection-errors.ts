// Apart from postgres.ts so that `fastify-warden/stores` loads without `pg`, an optional peer.

// SQLSTATE of a server that ends or refuses the session: class 08 (connection exception) and
// 57P01-03 (terminated by an administrator, a crash, a server starting or stopping); 53300 is a
// server out of connection slots, which also passes.
const SERVER_CODES = /^(08[0-9A-Z]{3}|57P0[123]|53300)$/
const NODE_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN'])
// pg's own errors for a connection that ended or could not be had carry no code, only a message.
const PG_MESSAGES = /^(Connection terminated|Client has encountered a connection error|Client was closed and is not queryable|timeout exceeded when trying to connect)/

/**
 * Whether `err` says the server was not reached or the connection was lost, rather than that the
 * query failed: such a query may not have run at all, and the server may answer the next one.
 */
export function isConnectionError (err: unknown): boolean {
  const { code, message } = (err ?? {}) as { code?: unknown, message?: unknown }
  if (typeof code === 'string' && (SERVER_CODES.test(code) || NODE_CODES.has(code))) return true
  return typeof message === 'string' && PG_MESSAGES.test(message)
}
