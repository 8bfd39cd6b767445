import type { Test } from 'tap'
import { createServer, connect, type Socket } from 'node:net'

/**
 * A TCP proxy in front of PostgreSQL, to lose replies on purpose. Once `loseCommitReplies` is on,
 * a connection that sends COMMIT gets it through to the server (the transaction commits) but
 * hears nothing back any more: its client sees a commit that never answers, as an instance
 * killed between its commit and its reply would.
 */
export interface PgProxy {
  readonly port: number
  loseCommitReplies: boolean
  /** Transactions committed whose answer was held back. */
  readonly lostCommits: number
}

// The simple-protocol Query message of `client.query('COMMIT')`: 'Q', its length, the text, NUL.
const COMMIT = Buffer.from('Q\u0000\u0000\u0000\u000bCOMMIT\u0000', 'latin1')

export async function startPgProxy (t: Test, target: { host: string, port: number }): Promise<PgProxy> {
  const sockets = new Set<Socket>()
  const proxy = {
    port: 0,
    loseCommitReplies: false,
    lostCommits: 0
  }
  const server = createServer((client) => {
    const upstream = connect(target.port, target.host)
    sockets.add(client).add(upstream)
    let muted = false
    client.on('data', (chunk) => {
      if (muted) return
      upstream.write(chunk)
      if (proxy.loseCommitReplies && chunk.includes(COMMIT)) {
        muted = true
        proxy.lostCommits++
      }
    })
    upstream.on('data', (chunk) => { if (!muted) client.write(chunk) })
    const end = (): void => { client.destroy(); upstream.destroy(); sockets.delete(client); sockets.delete(upstream) }
    client.on('error', end).on('close', end)
    upstream.on('error', end).on('close', end)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  proxy.port = (server.address() as { port: number }).port
  t.teardown(async () => {
    for (const socket of sockets) socket.destroy()
    await new Promise((resolve) => server.close(resolve))
  })
  return proxy
}
