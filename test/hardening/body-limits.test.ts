import t from 'tap'
import { connect } from 'node:net'
import { referenceApp } from '../helpers/reference-app.js'
import { closeSharedDatabase } from '../helpers/services.js'

t.teardown(closeSharedDatabase)

t.test('bodies: 64 KiB at most (413), prototype pollution refused (400), broken JSON a 400', async (t) => {
  const { app, login, bearer } = await referenceApp(t)
  const admin = await login()
  const post = async (payload: string) =>
    await app.inject({ method: 'POST', url: '/users', headers: { ...bearer(admin.access_token), 'content-type': 'application/json' }, payload })
  const big = await post(JSON.stringify({ username: 'big', email: 'b@example.com', password: 'x'.repeat(70_000), role: 'user' }))
  t.equal(big.statusCode, 413)
  t.equal(big.headers['content-type'], 'application/problem+json; charset=utf-8')
  for (const payload of [
    '{"__proto__":{"role":"admin"},"username":"p1","email":"p@example.com","password":"a long enough password","role":"user"}',
    '{"constructor":{"prototype":{"role":"admin"}},"username":"p2","email":"p@example.com","password":"a long enough password","role":"user"}'
  ]) {
    const res = await post(payload)
    t.equal(res.statusCode, 400)
    t.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8')
  }
  t.same(
    (await app.inject({ url: '/users?limit=100', headers: bearer(admin.access_token) })).json().items.map((u: { username: string }) => u.username),
    ['admin'],
    'nothing was created by the refused bodies'
  )
  t.equal((await post('{"username": "x",')).statusCode, 400)
  const unauthenticated = await app.inject({ method: 'POST', url: '/users', headers: { 'content-type': 'application/json' }, payload: 'x'.repeat(70_000) })
  t.equal(unauthenticated.statusCode, 401, 'without credentials the body is not even read')
})

/**
 * A client on a real socket that sends `size` bytes of body as fast as the socket takes them,
 * reading whatever the server answers meanwhile: the status line it got, and how the upload ended.
 */
async function upload (port: number, headers: string, size: number): Promise<{ status: string; answer: string; error?: string }> {
  return await new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    let answer = ''
    let error: string | undefined
    let sent = 0
    socket.on('data', (chunk) => {
      answer += chunk.toString()
    })
    socket.on('error', (err: NodeJS.ErrnoException) => {
      error = err.code
    })
    socket.on('close', () => {
      resolve({ status: answer.split('\r\n')[0], answer, ...(error === undefined ? {} : { error }) })
    })
    socket.write(`POST /users HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n${headers}Content-Type: application/json\r\nContent-Length: ${size}\r\n\r\n`)
    const chunk = Buffer.alloc(1_000_000, 'x')
    const more = (): void => {
      if (socket.destroyed || sent >= size) return
      sent += chunk.length
      if (socket.write(chunk)) setImmediate(more)
      else socket.once('drain', more)
    }
    more()
  })
}

t.test('regression: a body over the limit is answered 413 to a client still sending it, never a connection reset (lingering close)', async (t) => {
  const { app, login } = await referenceApp(t)
  const admin = await login()
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as { port: number }
  for (const size of [3_000_000, 8_000_000, 100_000_000]) {
    const { status, answer, error } = await upload(port, `Authorization: Bearer ${admin.access_token}\r\n`, size)
    t.equal(status, 'HTTP/1.1 413 Payload Too Large', `${size} bytes: the client read its answer`)
    t.match(answer, /\r\nconnection: close\r\n/i, 'and was told the connection closes')
    t.equal(error, undefined, 'no reset, no broken pipe')
  }
  const body = JSON.stringify({ username: 'x'.repeat(3_000_000), email: 'b@example.com', password: 'a long enough password', role: 'user' })
  for (let i = 0; i < 5; i++) {
    const res = await fetch(`http://127.0.0.1:${port}/users`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin.access_token}`, 'content-type': 'application/json', host: '127.0.0.1:8000' },
      body
    })
    t.equal(res.status, 413, "Node's fetch reads the 413, every time")
    t.equal(res.headers.get('content-type'), 'application/problem+json; charset=utf-8')
  }
})
