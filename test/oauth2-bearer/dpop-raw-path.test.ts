import t from 'tap'
import { connect } from 'node:net'
import { schemesApp } from '../helpers/schemes.js'
import { proofKey } from '../helpers/dpop.js'

// RFC 9449 §4.3 point 9: `htu` must be the URI of the request the proof came with. requestUri()
// takes the path as the client sent it, then sameUri() runs both through the WHATWG URL parser,
// which removes dot segments ('..', '%2e%2e') and turns '\' into '/'. Fastify routes on the raw
// path, which it does not normalise. So /files/..\admin is routed to /files/:name, and
// /docs/%2e%2e/admin to /docs/*, while their proofs are checked as proofs for /admin: a proof
// made for one resource is accepted at another (§11.1: usable at its endpoint only).
// light-my-request normalises URLs itself, so this needs real HTTP.

async function get (port: number, target: string, headers: Record<string, string>): Promise<{ status: number, body: string }> {
  return await new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    let data = ''
    socket.on('data', (d) => { data += d.toString('latin1') })
    socket.on('end', () => resolve({ status: Number(data.split(' ')[1]), body: data.split('\r\n\r\n')[1] ?? '' }))
    socket.on('error', reject)
    socket.write(`GET ${target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`)
  })
}

t.test('a proof for GET /admin is not accepted by the handler of another route', async (t) => {
  const fixture = await schemesApp({ clock: Date.now, bearer: { dpop: true } })
  const { app } = fixture
  app.get('/admin', { schema: { security: [{ oauth2: [] }] } }, async () => 'admin')
  app.get('/files/:name', { schema: { security: [{ oauth2: [] }] } }, async (req) => ({ route: '/files/:name', params: req.params }))
  app.get('/docs/*', { schema: { security: [{ oauth2: [] }] } }, async (req) => ({ route: '/docs/*', params: req.params }))
  await app.listen({ port: 0, host: '127.0.0.1' })
  t.teardown(() => app.close())
  const port = (app.server.address() as { port: number }).port
  const key = await proofKey()
  const bound = fixture.token([], { cnf: { jkt: key.jkt } })
  const proofForAdmin = async (): Promise<string> => await key.proof({ htm: 'GET', htu: 'http://localhost/admin', token: bound })

  t.equal((await get(port, '/admin', { authorization: `DPoP ${bound}`, dpop: await proofForAdmin() })).status, 200, 'where it was made for: accepted')
  for (const target of ['/files/..\\admin', '/docs/%2e%2e/admin', '/docs/../admin', '/docs/x/%2E%2E/%2e%2e/admin']) {
    const res = await get(port, target, { authorization: `DPoP ${bound}`, dpop: await proofForAdmin() })
    t.equal(res.status, 401, `GET ${target} with a proof for /admin is refused (got ${res.status} ${res.body})`)
  }
})
