import t from 'tap'
import Fastify from 'fastify'
import { connect } from 'node:net'
import { securityHeaders, trustedHosts, type TrustedHostsOptions } from '../../plugins/index.js'

async function hostsApp (opts: TrustedHostsOptions, lines: Array<Record<string, unknown>> = []) {
  const app = Fastify({ logger: { level: 'warn', stream: { write: (line: string) => { lines.push(JSON.parse(line)) } } } })
  await app.register(trustedHosts, opts)
  await app.register(securityHeaders)
  app.get('/x', async () => 'x')
  t.teardown(() => app.close())
  return app
}

/** One raw HTTP/1.1 request over a socket, as a client that does not normalise anything sends it; the status line's code. */
async function raw (port: number, request: string): Promise<number> {
  return await new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.end(request))
    let answer = ''
    socket.on('data', (chunk) => { answer += chunk.toString() })
    socket.on('end', () => { resolve(Number(answer.split(' ')[1])) })
    socket.on('error', reject)
  })
}

t.test('trusted hosts: exact names, ports, subdomain wildcards; anything else is a 400', async (t) => {
  const app = await hostsApp({ hosts: ['api.example.com', '*.example.org', 'localhost:8000'] })
  const call = async (host: string) => (await app.inject({ url: '/x', headers: { host } }))
  for (const host of ['api.example.com', 'API.Example.com', 'api.example.com:443', 'eu.example.org', 'a.b.example.org', 'localhost:8000']) {
    t.equal((await call(host)).statusCode, 200, host)
  }
  for (const host of ['evil.test', 'api.example.com.evil.test', 'example.org', 'evilexample.org', 'localhost:8001', 'localhost', '']) {
    const res = await call(host)
    t.equal(res.statusCode, 400, host || '(empty)')
    t.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8')
  }
  await t.rejects((async () => { await (await hostsApp({ hosts: [] })).ready() })(), { code: 'WARDEN_ERR_OPTION' })
  await t.rejects((async () => { await (await hostsApp({ hosts: ['bad host'] })).ready() })(), { code: 'WARDEN_ERR_OPTION', message: /hosts\[0\]/ })
  for (const entry of ['a..example.com', 'example.com:0', 'example.com:70000', '*.', 'a/b.example.com']) {
    await t.rejects((async () => { await (await hostsApp({ hosts: [entry] })).ready() })(), { code: 'WARDEN_ERR_OPTION' }, entry)
  }
})

t.test('regression: a Host is parsed by RFC 9110\'s grammar before it is compared, so nothing can pass as a subdomain', async (t) => {
  const lines: Array<Record<string, unknown>> = []
  const app = await hostsApp({ hosts: ['*.example.com', 'api.example.net'] }, lines)
  const refused = [
    'evil.test/.example.com', 'evil.test?.example.com', 'evil.test#.example.com', 'evil.test@a.example.com', 'evil.test\\.example.com',
    'evil.test .example.com', 'a..example.com', '.example.com', 'a.example.com:99999', 'a.example.com:0', 'a.example.com:', 'a.example.com.',
    '-a.example.com', 'a_b.example.com', 'a.example.com:80:80', 'xapi.example.net', 'api.example.net.evil.test'
  ]
  for (const host of refused) {
    const res = await app.inject({ url: '/x', headers: { host } })
    t.equal(res.statusCode, 400, JSON.stringify(host))
  }
  const last = await app.inject({ url: '/x', headers: { host: 'evil.test/.example.com' } })
  t.equal(last.headers['x-content-type-options'], 'nosniff', 'refused with the security headers')
  t.match(last.headers['content-security-policy'], /default-src 'none'/)
  t.equal(last.headers['cache-control'], 'no-store')
  t.match(lines.find((l) => l.event === 'request.host.refused'), { level: 40, host: 'evil.test/.example.com' }, 'logged as an attack')
  for (const host of ['a.example.com', 'a.example.com:8443', 'a-b.c.example.com', 'api.example.net']) t.equal((await app.inject({ url: '/x', headers: { host } })).statusCode, 200, host)
})

t.test('regression: over a socket, two Host lines and an absolute-form target for another host are refused', async (t) => {
  const app = await hostsApp({ hosts: ['a.example.com'] })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as { port: number }
  t.equal(await raw(port, 'GET /x HTTP/1.1\r\nHost: a.example.com\r\nConnection: close\r\n\r\n'), 200)
  t.equal(await raw(port, 'GET /x HTTP/1.1\r\nHost: a.example.com\r\nHost: evil.test\r\nConnection: close\r\n\r\n'), 400, 'two Host lines (Node keeps the first)')
  t.equal(await raw(port, 'GET http://evil.test/x HTTP/1.1\r\nHost: a.example.com\r\nConnection: close\r\n\r\n'), 400, 'RFC 9112 §3.2.2: the absolute target names the host')
  t.equal(await raw(port, 'GET http://a.example.com@evil.test/x HTTP/1.1\r\nHost: a.example.com\r\nConnection: close\r\n\r\n'), 400, 'user information is no disguise')
  t.equal(await raw(port, 'GET http://a.example.com/x HTTP/1.1\r\nHost: a.example.com\r\nConnection: close\r\n\r\n'), 200, 'an absolute target for our own host is fine')
})
