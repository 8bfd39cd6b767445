import type { ChildProcess } from 'node:child_process'
import autocannon from 'autocannon'
import type { FastifyRequest } from 'fastify'
import { CONFIGS, LABELS, benchApp, type Config } from './apps.js'
import { cpuTime, median, pinLoadGenerator, range, startServer } from './measure.js'

/**
 * Every configuration serves the same route from its own process on 127.0.0.1, and autocannon
 * loads them in turn. The machine's speed drifts by ±30 % over seconds, so configurations are
 * measured in short interleaved rounds (the order rotates each round), each compared with the
 * bare route of the same round, and the median of those ratios is reported with its range.
 * Beside req/s, each server's own CPU time (user + system, from /proc/<pid>/stat) divided by
 * the requests it answered: what the auth check costs the server, whatever else the machine
 * does. Only ratios measured in this one run mean anything; absolute figures depend on the machine.
 */
const DURATION = Number(process.env.BENCH_DURATION ?? 2)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 10)
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50)

interface Server {
  child: ChildProcess
  url: string
  headers: Record<string, string>
}

// The servers run on CPU 0 and this load generator on CPU 1, so the two never steal each
// other's core and the rounds vary less.
const pinned = pinLoadGenerator()

async function start (config: Config): Promise<Server> {
  const { child, info } = await startServer<{ port: number; headers: Record<string, string> }>('./server.js', [config], { pinned })
  return { child, url: `http://127.0.0.1:${info.port}/hello`, headers: info.headers }
}

/** req/s, and the server's CPU µs per request answered. */
async function load (server: Server, duration: number): Promise<{ rps: number; cpu: number }> {
  const before = cpuTime(server.child.pid!)
  const result = await autocannon({ url: server.url, headers: server.headers, connections: CONNECTIONS, duration })
  const used = cpuTime(server.child.pid!) - before
  if (result.non2xx > 0 || result.errors > 0) {
    throw new Error(`${server.url}: ${result.non2xx} non-2xx answers and ${result.errors} errors: the benchmark would measure refusals`)
  }
  return { rps: result.requests.average, cpu: used / result.requests.total }
}

const servers = new Map<Config, Server>()
try {
  for (const config of CONFIGS) servers.set(config, await start(config))
  for (const server of servers.values()) await load(server, 1) // warm-up: JIT, connections
  const series = (): Map<Config, number[]> => new Map(CONFIGS.map((c) => [c, []]))
  const rps = series()
  const rpsRatios = series()
  const cpus = series()
  const cpuRatios = series()
  for (let round = 0; round < ROUNDS; round++) {
    const order = CONFIGS.map((_, i) => CONFIGS[(i + round) % CONFIGS.length])
    const measured = new Map<Config, { rps: number; cpu: number }>()
    for (const config of order) measured.set(config, await load(servers.get(config)!, DURATION))
    const bare = measured.get('bare')!
    for (const config of CONFIGS) {
      const m = measured.get(config)!
      rps.get(config)!.push(m.rps)
      rpsRatios.get(config)!.push(m.rps / bare.rps)
      cpus.get(config)!.push(m.cpu)
      // As a throughput ratio: bare's CPU per request over this one's (1.00× = costs what bare does).
      cpuRatios.get(config)!.push(bare.cpu / m.cpu)
    }
    process.stderr.write(`round ${round + 1}/${ROUNDS} done\n`)
  }
  console.log(
    `\nautocannon, ${CONNECTIONS} connections, ${ROUNDS} interleaved rounds of ${DURATION} s, node ${process.version}, ` +
      `${pinned ? 'server and client pinned to separate CPUs' : 'unpinned'}, medians [ranges]\n`
  )
  console.log('| configuration | server CPU µs/request | by CPU, vs bare | req/s | by req/s, vs bare |')
  console.log('| --- | ---: | ---: | ---: | ---: |')
  for (const config of CONFIGS) {
    const c = cpuRatios.get(config)!
    const r = rpsRatios.get(config)!
    console.log(
      `| ${LABELS[config]} | ${median(cpus.get(config)!).toFixed(1)} | ${median(c).toFixed(2)}× [${range(c, 2)}] | ` +
        `${Math.round(median(rps.get(config)!))} | ${median(r).toFixed(2)}× [${range(r, 2)}] |`
    )
  }
} finally {
  for (const { child } of servers.values()) child.kill()
}

// The scheme alone, without HTTP: what one authenticate() call costs, in this process.
console.log('\n| scheme, one `authenticate()` call | ns |\n| --- | ---: |')
for (const config of CONFIGS.filter(
  (c) => c !== 'bare' && c !== 'trusted-hosts' && c !== 'hs256-floor' && c !== 'hmac-floor' && c !== 'fastify-jwt' && c !== 'bearer-cache-otel'
)) {
  const { app, headers } = await benchApp(config)
  const scheme = app.warden.schemes.get(config.startsWith('api-key') ? 'apiKey' : 'oauth2')!
  const request = { headers, log: app.log } as unknown as FastifyRequest
  for (let i = 0; i < 20_000; i++) scheme.authenticate(request)
  const n = 200_000
  const started = process.hrtime.bigint()
  for (let i = 0; i < n; i++) scheme.authenticate(request)
  console.log(`| ${LABELS[config]} | ${Math.round(Number(process.hrtime.bigint() - started) / n)} |`)
  await app.close()
}
