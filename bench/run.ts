import type { ChildProcess } from 'node:child_process'
import autocannon from 'autocannon'
import type { FastifyRequest } from 'fastify'
import { CredentialRefusal } from '../plugins/index.js'
import { CONFIGS, DEMANDS, LABELS, benchApp, type Config } from './apps.js'
import { proofMaker, proofClients, type DpopClient, type ProofMaker } from './dpop-proofs.js'
import { cpuTime, median, pinLoadGenerator, range, startServer } from './measure.js'

/**
 * Every configuration serves the same route from its own process on 127.0.0.1, and autocannon
 * loads them in turn. The machine's speed drifts by ±30 % over seconds, so configurations are
 * measured in short interleaved rounds (the order rotates each round), each compared with the
 * bare route of the same round, and the median of those ratios is reported with its range.
 * Beside req/s, each server's own CPU time (user + system, from /proc/<pid>/stat) divided by
 * the requests it answered: what the auth check costs the server, whatever else the machine
 * does. Only ratios measured in this one run mean anything; absolute figures depend on the machine.
 * The DPoP rows send a fresh proof with every request, made just before each load (proofs).
 */
const DURATION = Number(process.env.BENCH_DURATION ?? 2)
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 10)
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 50)
/** `BENCH_CONFIGS=bare,bearer,dpop`: those rows only (shorter rounds), in the order of CONFIGS; the bare route always. */
const CHOSEN = process.env.BENCH_CONFIGS?.split(',')
const unknown = CHOSEN?.filter((c) => !CONFIGS.includes(c as Config))
if (unknown !== undefined && unknown.length > 0) throw new Error(`BENCH_CONFIGS: unknown ${unknown.join(', ')}; of ${CONFIGS.join(', ')}`)
const MEASURED = CONFIGS.filter((c) => CHOSEN === undefined || c === 'bare' || CHOSEN.includes(c))

interface Server {
  config: Config
  child: ChildProcess
  url: string
  headers: Record<string, string>
  /** A DPoP row's proofs, for its URL and token. */
  proofs?: ProofMaker
  /** The most requests a second it has answered yet: how many proofs a load needs. */
  fastest: number
}

/**
 * Proofs made for a load of `duration` s: twice what the server's fastest load yet would take
 * (the machine's speed swings ±30 %), and before any, 20 000 a second (past what one core
 * does when each request costs an ES256 signature check).
 */
const proofsFor = (server: Server, duration: number): number => Math.ceil(2 * (server.fastest || 20_000) * duration) + 2 * CONNECTIONS

// The servers run on CPU 0 and this load generator on CPU 1, so the two never steal each
// other's core and the rounds vary less.
const pinned = pinLoadGenerator()

async function start (config: Config): Promise<Server> {
  const { child, info } = await startServer<{ port: number; headers: Record<string, string>; client?: DpopClient }>('./server.js', [config], { pinned })
  const url = `http://127.0.0.1:${info.port}/hello`
  const proofs = info.client === undefined ? undefined : proofMaker(info.client, 'GET', url)
  return { config, child, url, headers: info.headers, ...(proofs === undefined ? {} : { proofs }), fastest: 0 }
}

/**
 * req/s, and the server's CPU µs per request answered. A DPoP load whose proofs ran out (the
 * server went faster than any load before) is measured again once, with enough of them.
 */
async function load (server: Server, duration: number, again = true): Promise<{ rps: number; cpu: number }> {
  const pool = server.proofs?.(proofsFor(server, duration))
  const sent = pool === undefined ? undefined : proofClients(pool)
  const before = cpuTime(server.child.pid!)
  const result = await autocannon({ url: server.url, headers: server.headers, connections: CONNECTIONS, duration, setupClient: sent?.setupClient })
  const used = cpuTime(server.child.pid!) - before
  if (pool !== undefined && sent!.used() > pool.length) {
    const ranOut = `${server.config}: the ${pool.length} proofs made for the load ran out (${sent!.used()} requests sent)`
    if (!again) throw new Error(ranOut)
    process.stderr.write(`${ranOut}: measured again\n`)
    server.fastest = sent!.used() / duration
    return await load(server, duration, false)
  }
  if (result.non2xx > 0 || result.errors > 0) {
    throw new Error(
      `${server.config}: ${result.non2xx} non-2xx answers (of ${result.requests.total}) and ${result.errors} errors: the benchmark would measure refusals`
    )
  }
  server.fastest = Math.max(server.fastest, result.requests.total / duration)
  return { rps: result.requests.average, cpu: used / result.requests.total }
}

const servers = new Map<Config, Server>()
try {
  for (const config of MEASURED) servers.set(config, await start(config))
  // Warm-up, twice: JIT, connections, then the rate each server goes at once warm (the DPoP rows' proofs are made for it).
  for (let pass = 0; pass < 2; pass++) for (const server of servers.values()) await load(server, 1)
  const series = (): Map<Config, number[]> => new Map(MEASURED.map((c) => [c, []]))
  const rps = series()
  const rpsRatios = series()
  const cpus = series()
  const cpuRatios = series()
  for (let round = 0; round < ROUNDS; round++) {
    const order = MEASURED.map((_, i) => MEASURED[(i + round) % MEASURED.length])
    const measured = new Map<Config, { rps: number; cpu: number }>()
    for (const config of order) measured.set(config, await load(servers.get(config)!, DURATION))
    const bare = measured.get('bare')!
    for (const config of MEASURED) {
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
  for (const config of MEASURED) {
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

// The scheme alone, without HTTP: what one authenticate() call costs, in this process (as the
// route uses it: its DPoP mode, its step-up). Each DPoP call has a proof of its own, made before.
const IN_PROCESS: readonly Config[] = MEASURED.filter(
  (c) => c !== 'bare' && c !== 'trusted-hosts' && c !== 'hs256-floor' && c !== 'hmac-floor' && c !== 'fastify-jwt' && c !== 'bearer-cache-otel' &&
    // The demand is the handler's, after the scheme: alone, the scheme is bearer-cache's.
    c !== 'bearer-cache-demand'
)

/** A principal, answered at once: a refusal's time, or a promise's, would not be what a check costs. */
function admitted (config: Config, outcome: unknown): void {
  if (outcome === null || typeof outcome !== 'object' || outcome instanceof CredentialRefusal || !('subject' in outcome)) {
    throw new Error(`${config}: authenticate() did not admit the request at once`)
  }
}

async function schemeAlone (config: Config): Promise<number> {
  const { app, headers, client } = await benchApp(config)
  const scheme = app.warden.schemes.get(config.startsWith('api-key') ? 'apiKey' : 'oauth2')!
  const route = DEMANDS[config] === undefined ? scheme : scheme.forRoute!(DEMANDS[config])
  const [warm, n] = client === undefined ? [20_000, 200_000] : [500, 5_000]
  const base = { headers, method: 'GET', originalUrl: '/hello', protocol: 'http', host: '127.0.0.1', log: app.log }
  const proofs = client === undefined ? [] : proofMaker(client, 'GET', 'http://127.0.0.1/hello')(warm + n + 1)
  const requests = (client === undefined ? [base] : proofs.map((dpop) => ({ ...base, headers: { ...headers, dpop } }))) as unknown as FastifyRequest[]
  const at = (i: number): FastifyRequest => requests[i % requests.length]
  admitted(config, route.authenticate(at(0)))
  for (let i = 1; i <= warm; i++) route.authenticate(at(i))
  const started = process.hrtime.bigint()
  for (let i = warm + 1; i <= warm + n; i++) route.authenticate(at(i))
  const ns = Number(process.hrtime.bigint() - started) / n
  await app.close()
  return ns
}

console.log('\n| scheme, one `authenticate()` call | ns |\n| --- | ---: |')
for (const config of IN_PROCESS) console.log(`| ${LABELS[config]} | ${Math.round(await schemeAlone(config))} |`)
