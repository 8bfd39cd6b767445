import t from 'tap'
import { EventEmitter } from 'node:events'
import { setTimeout as sleep } from 'node:timers/promises'
import type { IncomingMessage } from 'node:http'
import type { Socket } from 'node:net'
import { LINGER, linger } from '../../plugins/core/lingering-close.js'

// The lingering close on its own, each of its limits at its edge (the socket-level behaviour is
// tested over real connections in body-limits and framework-errors).

/** A socket and its request as Node's HTTP server holds them, recording what is done to them. */
function connection () {
  const counts = { ended: 0, destroyed: 0, resumed: 0 }
  const socket: EventEmitter & { destroySoon: () => void; end: () => void; destroy: () => void } = Object.assign(new EventEmitter(), {
    destroySoon: () => {},
    end: () => {
      counts.ended++
    },
    destroy: () => {
      counts.destroyed++
      socket.emit('close')
    }
  })
  const request = Object.assign(new EventEmitter(), {
    resume: () => {
      counts.resumed++
    }
  })
  return {
    socket,
    request,
    counts,
    close: () => {
      socket.destroySoon()
    }
  }
}
const start = (c: ReturnType<typeof connection>, limits = { ms: 60_000, bytes: 100 }) => {
  linger(c.socket as unknown as Socket, c.request as unknown as IncomingMessage, limits)
  c.close()
}

t.test('the limits: 5 s and 16 MiB', async (t) => {
  t.same(LINGER, { ms: 5_000, bytes: 16 * 1024 * 1024 })
})

t.test(
  'closing: the write side ends at once, the body is read (its own listeners removed) and dropped, the socket destroyed when the client ends',
  async (t) => {
    const c = connection()
    let handed = 0
    c.request.on('data', () => {
      handed++
    })
    start(c)
    t.equal(c.counts.ended, 1, 'FIN sent first')
    t.equal(c.counts.resumed, 1, 'the rest of the body flows')
    c.request.emit('data', Buffer.alloc(10))
    t.equal(handed, 0, 'and goes nowhere')
    t.equal(c.counts.destroyed, 0, 'while the client sends within the limits')
    c.request.emit('end')
    t.equal(c.counts.destroyed, 1, 'destroyed when the body ends')
  }
)

t.test('closing: more than `bytes` dropped destroys the socket; exactly `bytes` does not', async (t) => {
  const c = connection()
  start(c, { ms: 60_000, bytes: 100 })
  c.request.emit('data', Buffer.alloc(60))
  c.request.emit('data', Buffer.alloc(40))
  t.equal(c.counts.destroyed, 0, 'exactly the limit')
  c.request.emit('data', Buffer.alloc(1))
  t.equal(c.counts.destroyed, 1, 'one byte over it')
})

t.test('closing: after `ms` the socket is destroyed whatever the client does; a socket closed earlier is not destroyed again', async (t) => {
  const slow = connection()
  start(slow, { ms: 30, bytes: 100 })
  await sleep(10)
  t.equal(slow.counts.destroyed, 0)
  await sleep(60)
  t.equal(slow.counts.destroyed, 1, 'cut at the time limit')

  const quick = connection()
  start(quick, { ms: 30, bytes: 100 })
  quick.socket.emit('close')
  await sleep(60)
  t.equal(quick.counts.destroyed, 0, 'the timer is cleared by the close')
})

t.test('a connection lingers once, however many answers ask for it', async (t) => {
  const c = connection()
  linger(c.socket as unknown as Socket, c.request as unknown as IncomingMessage)
  const first = c.socket.destroySoon
  linger(c.socket as unknown as Socket, c.request as unknown as IncomingMessage)
  t.equal(c.socket.destroySoon, first, 'not wrapped again')
})
