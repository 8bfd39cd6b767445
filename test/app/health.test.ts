import t from 'tap'
import { connect, createServer, type Server, type Socket } from 'node:net'
import { referenceApp } from '../helpers/reference-app.js'
import { closeSharedDatabase, freePort, postgresSkip, testDatabase, POSTGRES_URL } from '../helpers/services.js'
import { openPostgres } from '../../stores/sql/postgres.js'

t.teardown(closeSharedDatabase)

const sleep = async (ms: number): Promise<void> => {
  await new Promise((resolve) => setTimeout(resolve, ms))
}

t.test('/health while the server sheds load: the documented 503 (a problem with Retry-After), never a 500', async (t) => {
  const { app } = await referenceApp(t, { pressure: { maxEventLoopDelay: 50, sampleInterval: 5 } })
  let health = await app.inject({ url: '/health' })
  for (let i = 0; i < 100 && health.statusCode !== 200; i++) {
    await sleep(10)
    health = await app.inject({ url: '/health' })
  }
  t.equal(health.statusCode, 200, 'quiet: 200')

  // Hold the event loop as a CPU-bound storm would; a load balancer's probe must see the instance shed.
  const until = Date.now() + 300
  while (Date.now() < until) {
    /* busy */
  }
  const seen = new Set<number>()
  let shed = await app.inject({ url: '/health' })
  seen.add(shed.statusCode)
  for (let i = 0; i < 20 && shed.statusCode !== 503; i++) {
    await sleep(2)
    shed = await app.inject({ url: '/health' })
    seen.add(shed.statusCode)
  }
  t.notOk(seen.has(500), `no 500 (${[...seen].join(', ')})`)
  t.equal(shed.statusCode, 503)
  t.equal(shed.headers['retry-after'], '1')
  t.equal(shed.headers['content-type'], 'application/problem+json; charset=utf-8')
  t.same(shed.json(), {
    type: 'about:blank',
    title: 'Service Unavailable',
    status: 503,
    detail: 'The server is overloaded (eventLoopDelay); try again shortly.'
  })

  // The document says so: the 503 is a Health body (the database) or a problem (shedding).
  const documented = (
    app.swagger() as {
      paths: Record<string, { get: { responses: Record<string, { content: Record<string, { schema: unknown }>; headers: Record<string, unknown> }> } }>
    }
  ).paths['/health'].get.responses['503']
  t.same(Object.keys(documented.content).sort(), ['application/json', 'application/problem+json'])
  t.same(documented.content['application/problem+json'].schema, { $ref: '#/components/schemas/Problem' })
  t.match(documented.content['application/json'].schema, { required: ['status', 'database', 'load'] })
  t.ok(documented.headers['Retry-After'], 'Retry-After documented')
})

/** A TCP relay to PostgreSQL that can be stopped: the database "goes away" for real (refused connections). */
async function relay (port: number): Promise<{ url: string; stop: () => Promise<void>; start: () => Promise<void> }> {
  const target = new URL(POSTGRES_URL)
  const sockets = new Set<Socket>()
  let server: Server | undefined
  const listen = async (listenPort: number): Promise<void> => {
    server = createServer((client) => {
      const upstream = connect(Number(target.port || 5432), target.hostname)
      for (const s of [client, upstream]) {
        sockets.add(s)
        s.on('close', () => sockets.delete(s))
        s.on('error', () => {})
      }
      client.pipe(upstream).pipe(client)
    })
    await new Promise<void>((resolve) => server!.listen(listenPort, '127.0.0.1', resolve))
  }
  await listen(port)
  const url = new URL(POSTGRES_URL)
  url.host = `127.0.0.1:${port}`
  return {
    url: url.href,
    stop: async () => {
      for (const s of sockets) s.destroy()
      await new Promise((resolve) => server!.close(resolve))
    },
    start: async () => {
      await listen(port)
    }
  }
}

t.test(
  '/health with the database gone: 503 with the report and Retry-After, one log line for the outage, 200 once it is back',
  { skip: await postgresSkip() },
  async (t) => {
    const proxy = await relay(await freePort())
    t.teardown(proxy.stop)
    const schema = await testDatabase(t, 'postgres')
    const [{ search_path: searchPath }] = await schema.query<{ search_path: string }>('SHOW search_path')
    const lines: Array<{ level: number; msg: string }> = []
    const logger = {
      level: 'info',
      stream: {
        write: (line: string) => {
          lines.push(JSON.parse(line))
        }
      }
    }
    const { app } = await referenceApp(t, { database: openPostgres(proxy.url, { searchPath, max: 2 }), logger })
    t.equal((await app.inject({ url: '/health' })).statusCode, 200)

    await proxy.stop()
    const down = await Promise.all(Array.from({ length: 5 }, async () => await app.inject({ url: '/health' })))
    for (const res of down) {
      t.equal(res.statusCode, 503)
      t.equal(res.headers['retry-after'], '1')
      t.equal(res.headers['content-type'], 'application/json; charset=utf-8')
      t.match(res.json(), { status: 'unavailable', database: 'unavailable', load: { password_checks_running: 0 } })
    }
    t.same(
      lines.filter((l) => l.level >= 40).map((l) => l.msg),
      ['database unavailable'],
      'one warning for the outage, whatever the number of probes'
    )

    await proxy.start()
    t.equal((await app.inject({ url: '/health' })).statusCode, 200, 'back')
    t.ok(lines.some((l) => l.level === 30 && l.msg === 'database available again'))
  }
)
