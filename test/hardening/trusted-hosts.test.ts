import t from 'tap'
import Fastify from 'fastify'
import { connect } from 'node:net'
import { securityHeaders, trustedHosts, type TrustedHostsOptions } from '../../plugins/index.js'

async function hostsApp (opts: TrustedHostsOptions, lines: Array<Record<string, unknown>> = []) {
  const app = Fastify({
    logger: {
      level: 'warn',
      stream: {
        write: (line: string) => {
          lines.push(JSON.parse(line))
        }
      }
    }
  })
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
    socket.on('data', (chunk) => {
      answer += chunk.toString()
    })
    socket.on('end', () => {
      resolve(Number(answer.split(' ')[1]))
    })
    socket.on('error', reject)
  })
}

t.test('trusted hosts: exact names, ports, subdomain wildcards; anything else is a 400', async (t) => {
  const app = await hostsApp({ hosts: ['api.example.com', '*.example.org', 'localhost:8000'] })
  const call = async (host: string) => await app.inject({ url: '/x', headers: { host } })
  for (const host of ['api.example.com', 'API.Example.com', 'api.example.com:443', 'eu.example.org', 'a.b.example.org', 'localhost:8000']) {
    t.equal((await call(host)).statusCode, 200, host)
  }
  for (const host of ['evil.test', 'api.example.com.evil.test', 'example.org', 'evilexample.org', 'localhost:8001', 'localhost', '']) {
    const res = await call(host)
    t.equal(res.statusCode, 400, host || '(empty)')
    t.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8')
  }
  await t.rejects(
    (async () => {
      await (await hostsApp({ hosts: [] })).ready()
    })(),
    { code: 'WARDEN_ERR_OPTION', message: "option 'hosts' must list at least one host name" }
  )
  await t.rejects(
    (async () => {
      await (await hostsApp({ hosts: ['api.example.com', 'bad host'] })).ready()
    })(),
    { code: 'WARDEN_ERR_OPTION', message: "option 'hosts[1]' 'bad host' is not a host name" }
  )
  t.ok(app.hasPlugin('fastify-warden/trusted-hosts'), 'registered under its name')
  for (const entry of ['a..example.com', 'example.com:0', 'example.com:70000', '*.', 'a/b.example.com']) {
    await t.rejects(
      (async () => {
        await (await hostsApp({ hosts: [entry] })).ready()
      })(),
      { code: 'WARDEN_ERR_OPTION' },
      entry
    )
  }
})

t.test("regression: a Host is parsed by RFC 9110's grammar before it is compared, so nothing can pass as a subdomain", async (t) => {
  const lines: Array<Record<string, unknown>> = []
  const app = await hostsApp({ hosts: ['*.example.com', 'api.example.net'] }, lines)
  const refused = [
    'evil.test/.example.com',
    'evil.test?.example.com',
    'evil.test#.example.com',
    'evil.test@a.example.com',
    'evil.test\\.example.com',
    'evil.test .example.com',
    'a..example.com',
    '.example.com',
    'a.example.com:99999',
    'a.example.com:0',
    'a.example.com:',
    'a.example.com.',
    '-a.example.com',
    'a_b.example.com',
    'a.example.com:80:80',
    'xapi.example.net',
    'api.example.net.evil.test'
  ]
  for (const host of refused) {
    const res = await app.inject({ url: '/x', headers: { host } })
    t.equal(res.statusCode, 400, JSON.stringify(host))
  }
  const last = await app.inject({ url: '/x', headers: { host: 'evil.test/.example.com' } })
  t.equal(last.headers['x-content-type-options'], 'nosniff', 'refused with the security headers')
  t.match(last.headers['content-security-policy'], /default-src 'none'/)
  t.equal(last.headers['cache-control'], 'no-store')
  t.match(
    lines.find((l) => l.event === 'request.host.refused'),
    { level: 40, host: 'evil.test/.example.com' },
    'logged as an attack'
  )
  for (const host of ['a.example.com', 'a.example.com:8443', 'a-b.c.example.com', 'api.example.net']) {
    t.equal((await app.inject({ url: '/x', headers: { host } })).statusCode, 200, host)
  }
  const long = 'a'.repeat(60) + '.' + 'b'.repeat(60) + '.evil.test'
  await app.inject({ url: '/x', headers: { host: long } })
  const logged = lines.findLast((l) => l.event === 'request.host.refused')
  t.equal(logged?.host, long.slice(0, 100), 'the logged host is bounded to 100 characters')
  t.equal(logged?.msg, 'untrusted Host header')
  t.equal(last.json().detail, 'The Host header names a host this API does not serve.')
})

t.test("the authority's bounds: ports 1 to 65535, names of at most 253 characters", async (t) => {
  const app = await hostsApp({ hosts: ['*.example.com', '[::1]'] })
  const status = async (host: string) => (await app.inject({ url: '/x', headers: { host } })).statusCode
  t.equal(await status('a.example.com:1'), 200)
  t.equal(await status('a.example.com:65535'), 200)
  t.equal(await status('a.example.com:65536'), 400)
  t.equal(await status('[::1]:8000'), 200, 'an IPv6 literal')
  const label = 'a'.repeat(63)
  const name = (n: number) => `${[label, label, label].join('.')}.${'b'.repeat(n)}.example.com`
  t.equal(name(49).length, 253)
  t.equal(await status(name(49)), 200, '253 characters: a host name')
  t.equal(await status(name(50)), 400, '254: not one')
  const { isHostEntry } = await import('../../plugins/hardening/trusted-hosts.js')
  t.equal(isHostEntry(42), false)
  t.equal(isHostEntry('*.example.com:8443'), true)
  t.equal(isHostEntry('example.com:65536'), false)
})

t.test('regression: over a socket, two Host lines and an absolute-form target for another host are refused', async (t) => {
  const app = await hostsApp({ hosts: ['a.example.com'] })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const { port } = app.server.address() as { port: number }
  t.equal(await raw(port, 'GET /x HTTP/1.1\r\nHost: a.example.com\r\nConnection: close\r\n\r\n'), 200)
  t.equal(
    await raw(port, 'GET /x HTTP/1.1\r\nHost: a.example.com\r\nHost: evil.test\r\nConnection: close\r\n\r\n'),
    400,
    'two Host lines (Node keeps the first)'
  )
  t.equal(
    await raw(port, 'GET http://evil.test/x HTTP/1.1\r\nHost: a.example.com\r\nConnection: close\r\n\r\n'),
    400,
    'RFC 9112 §3.2.2: the absolute target names the host'
  )
  t.equal(
    await raw(port, 'GET http://a.example.com@evil.test/x HTTP/1.1\r\nHost: a.example.com\r\nConnection: close\r\n\r\n'),
    400,
    'user information is no disguise'
  )
  t.equal(
    await raw(port, 'GET http://a.example.com/x HTTP/1.1\r\nHost: a.example.com\r\nConnection: close\r\n\r\n'),
    200,
    'an absolute target for our own host is fine'
  )
  t.equal(await raw(port, 'GET HTTPS://A.EXAMPLE.COM/x HTTP/1.1\r\nHost: a.example.com\r\nConnection: close\r\n\r\n'), 200, 'in any case')
  t.equal(
    await raw(port, 'GET xhttp://a.example.com/x HTTP/1.1\r\nHost: a.example.com\r\nConnection: close\r\n\r\n'),
    400,
    'another scheme names no authority of ours'
  )
  t.equal(
    await raw(port, 'OPTIONS * HTTP/1.1\r\nHost: a.example.com\r\nConnection: close\r\n\r\n'),
    404,
    'OPTIONS * (asterisk form) is let through: no route answers it'
  )
  t.equal(await raw(port, 'GET * HTTP/1.1\r\nHost: a.example.com\r\nConnection: close\r\n\r\n'), 400, 'the asterisk form is OPTIONS only')
  t.equal(
    await raw(port, 'OPTIONS http://evil.test/x HTTP/1.1\r\nHost: a.example.com\r\nConnection: close\r\n\r\n'),
    400,
    'and OPTIONS is no pass for an absolute target'
  )
  t.equal(
    await raw(port, 'GET /x HTTP/1.1\r\nFrom: ops@example.com\r\nHost: a.example.com\r\nConnection: close\r\n\r\n'),
    200,
    'one Host among other four-letter headers'
  )
  t.equal(await raw(port, 'GET /x HTTP/1.0\r\n\r\n'), 400, 'no Host at all (HTTP/1.0)')
})
