import t from 'tap'
import Fastify from 'fastify'
import { trustedHosts, type TrustedHostsOptions } from '../../plugins/index.js'

async function hostsApp (opts: TrustedHostsOptions) {
  const app = Fastify()
  await app.register(trustedHosts, opts)
  app.get('/x', async () => 'x')
  return app
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
})
