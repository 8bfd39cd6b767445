import { readFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { setTimeout as sleep } from 'node:timers/promises'
import argon2 from 'argon2'
import autocannon from 'autocannon'
import { median, pinLoadGenerator, quantile, range, startServer, treeCpuTime } from './measure.js'
import { steadyLoadApart } from './steady.js'

/**
 * A login storm against the reference app (PGlite, argon2id with the production parameters):
 * GET /users/me is offered a steady 400 req/s (one request every 2.5 ms, latency counted from
 * when each was due) with a valid token while 0, 20, 200 or 2 000 clients loop
 * on POST /auth/token, in interleaved rounds (medians, with ranges). Reported: what /users/me is
 * served and its latency against the idle round, the logins answered (and how long the slowest
 * waited, against the queue's bound) and refused, the server's CPU time per request, and what
 * argon2id alone reaches here.
 *
 * The server has the machine's cores (the hasher keeps one for the event loop); BENCH_PIN=on
 * puts it on CPU 0 and the load on CPU 1 instead. BENCH_DATABASE_URL runs the app on PostgreSQL;
 * BENCH_HASHING=pool hashes on the server's libuv pool instead of the reference app's hashing
 * process; BENCH_REFUSAL_DELAY sets the hasher's refusal delay (ms).
 */
const DURATION = Number(process.env.BENCH_STORM_DURATION ?? 5)
const ROUNDS = Number(process.env.BENCH_STORM_ROUNDS ?? 5)
const STORMS = [0, 20, 200, 2000]
const OFFERED = 400
const PASSWORD = 'bench admin password 1234'
const ARGON2 = { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 }
const pinned = process.env.BENCH_PIN === 'on' && pinLoadGenerator()
const {
  child: server,
  info: { port, concurrency, queue, isolate, refusalDelay, refusalRate }
} = await startServer<{ port: number; concurrency: number; queue: number; isolate: boolean; refusalDelay: number; refusalRate: number }>(
  './storm-server.js',
  [],
  { pinned }
)
const base = `http://127.0.0.1:${port}`
const loginBody = new URLSearchParams({ grant_type: 'password', username: 'admin', password: PASSWORD }).toString()
const loginRequest = { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: loginBody }

/**
 * Nanoseconds the server's main thread (its event loop) has spent runnable but waiting for a
 * core (Linux schedstat): what CPU contention, not the event loop's own work, adds to latency.
 */
function waitedForCore (): number {
  return Number(readFileSync(`/proc/${server.pid}/task/${server.pid}/schedstat`, 'utf8').split(' ')[1])
}

/** Jiffies (10 ms) the whole machine has been busy, and stolen by the hypervisor (/proc/stat). */
function machine (): { busy: number; steal: number } {
  const [user, nice, system, , , irq, softirq, steal] = readFileSync('/proc/stat', 'utf8').split('\n')[0].split(/\s+/).slice(1).map(Number)
  return { busy: user + nice + system + irq + softirq, steal: steal ?? 0 }
}

/** A token for the measured route; after a storm the hasher may still be refusing for a moment. */
async function token (): Promise<string> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const res = await fetch(`${base}/auth/token`, loginRequest)
    if (res.status === 200) return ((await res.json()) as { access_token: string }).access_token
    await sleep(100)
  }
  throw new Error('no token: the server kept refusing logins')
}

/**
 * `clients` connections looping on logins, each sending the next as soon as the last is answered
 * (autocannon, the lightest client here: the load generator shares the server's cores).
 */
function storm (clients: number): { stop: () => Promise<{ answered: number[]; refused: number[]; seconds: number }> } {
  const answered: number[] = []
  const refused: number[] = []
  const started = performance.now()
  const run =
    clients === 0
      ? undefined
      : autocannon({ url: `${base}/auth/token`, method: 'POST', headers: loginRequest.headers, body: loginBody, connections: clients, duration: 10 * DURATION })
  run?.on('response', (_client, status, _bytes, ms) => {
    if (status === 200) answered.push(ms)
    else if (status === 503) refused.push(ms)
    else throw new Error(`login answered ${status}`)
  })
  return {
    async stop () {
      const seconds = (performance.now() - started) / 1000
      run?.stop()
      await run
      return { answered, refused, seconds }
    }
  }
}

interface Round {
  served: number
  p50: number
  p99: number
  lag: number
  answered: number
  refused: number
  slowestAnswer: number
  refusedP50: number
  cpuPerRequest: number
  coreWait: number
  serverCores: number
  loadCores: number
  machineCores: number
  stolen: number
}

async function round (clients: number): Promise<Round> {
  const bearer = await token()
  const before = treeCpuTime(server.pid!)
  const waitedBefore = waitedForCore()
  const loadBefore = process.cpuUsage()
  const machineBefore = machine()
  const started = performance.now()
  const logins = storm(clients)
  // The storm's clients are all waiting on the hasher or on a refusal before the measure starts.
  if (clients > 0) await sleep(500)
  const api = await steadyLoadApart({ url: `${base}/users/me`, headers: { authorization: `Bearer ${bearer}` }, rate: OFFERED, duration: DURATION })
  const l = await logins.stop()
  const used = treeCpuTime(server.pid!) - before
  const waited = waitedForCore() - waitedBefore
  const load = process.cpuUsage(loadBefore)
  const machineAfter = machine()
  const seconds = (performance.now() - started) / 1000
  const total = api.latencies.length + l.answered.length + l.refused.length
  return {
    served: api.ok / DURATION,
    p50: quantile(api.latencies, 0.5),
    p99: quantile(api.latencies, 0.99),
    lag: api.lag,
    answered: l.answered.length / l.seconds,
    refused: l.refused.length / l.seconds,
    slowestAnswer: Math.max(0, ...l.answered),
    refusedP50: quantile(l.refused, 0.5),
    cpuPerRequest: used / total,
    coreWait: waited / 1e6 / seconds,
    // Cores kept busy, on average: the server process (all its threads, and its hashing process) and this load generator.
    serverCores: used / 1e6 / seconds,
    loadCores: (load.user + load.system) / 1e6 / seconds,
    machineCores: (machineAfter.busy - machineBefore.busy) / 100 / seconds,
    stolen: (machineAfter.steal - machineBefore.steal) / 100 / seconds
  }
}

/** argon2id alone, the same parameters, as many at once as the hasher runs: the ceiling, and one hash's time. */
async function ceiling (): Promise<{ perSecond: number; ms: number }> {
  const hash = await argon2.hash(PASSWORD, ARGON2)
  const until = Date.now() + 3000
  let done = 0
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (Date.now() < until) {
        await argon2.verify(hash, PASSWORD)
        done++
      }
    })
  )
  return { perSecond: done / 3, ms: (3000 * concurrency) / done }
}

try {
  await round(0) // warm-up
  const rounds = new Map<number, Round[]>(STORMS.map((s) => [s, []]))
  for (let r = 0; r < ROUNDS; r++) {
    for (let i = 0; i < STORMS.length; i++) {
      const clients = STORMS[(i + r) % STORMS.length]
      rounds.get(clients)!.push(await round(clients))
    }
    process.stderr.write(`storm round ${r + 1}/${ROUNDS} done\n`)
  }
  const alone = await ceiling()
  const idleP99 = median(rounds.get(0)!.map((x) => x.p99))
  const m = (clients: number, field: keyof Round): number => median(rounds.get(clients)!.map((x) => x[field]))
  const spread = (clients: number, field: keyof Round): string =>
    range(
      rounds.get(clients)!.map((x) => x[field]),
      0
    )
  console.log(
    `\nlogin storm: the reference app on ${process.env.BENCH_DATABASE_URL === undefined ? 'PGlite' : 'PostgreSQL'}, ` +
      `GET /users/me offered ${OFFERED} req/s for ${DURATION} s while N clients loop on POST /auth/token ` +
      '(argon2id m=19456 t=2 p=1), ' +
      `${ROUNDS} interleaved rounds, medians [ranges], ` +
      `${pinned ? 'server on CPU 0, load on CPU 1' : `server and load sharing the ${availableParallelism()} cores`}; ` +
      `hasher: ${concurrency} at once, ${queue} waiting, ` +
      `${isolate ? 'in a process of its own in the idle scheduling class' : "on the server's libuv pool"}, ` +
      `refusals answered after ${refusalDelay / 2000}–${(refusalDelay * 1.5) / 1000} s, later past ${refusalRate} a second\n`
  )
  console.log(
    '| logins in flight | /users/me served | p50 ms | p99 ms | p99 vs idle | slowest send, ms late | ' +
      'event loop waiting for a core, ms/s | ' +
      'cores busy: server + load generator, of all busy on the machine (stolen by its host) | ' +
      'logins/s answered | slowest answered login ms | logins/s refused (503) | refusal ms | server CPU µs/request |'
  )
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
  for (const clients of STORMS) {
    console.log(
      `| ${clients} | ${((100 * m(clients, 'served')) / OFFERED).toFixed(0)} % [${spread(clients, 'served')}] | ` +
        `${m(clients, 'p50').toFixed(1)} | ${m(clients, 'p99').toFixed(1)} [${spread(clients, 'p99')}] | ` +
        `${(m(clients, 'p99') / idleP99).toFixed(2)}× | ${m(clients, 'lag').toFixed(1)} | ` +
        `${m(clients, 'coreWait').toFixed(0)} [${spread(clients, 'coreWait')}] | ` +
        `${m(clients, 'serverCores').toFixed(2)} + ${m(clients, 'loadCores').toFixed(2)} ` +
        `of ${m(clients, 'machineCores').toFixed(2)} (${m(clients, 'stolen').toFixed(2)}) | ` +
        `${m(clients, 'answered').toFixed(1)} | ${m(clients, 'slowestAnswer').toFixed(0)} | ` +
        `${m(clients, 'refused').toFixed(1)} | ${m(clients, 'refusedP50').toFixed(0)} | ` +
        `${m(clients, 'cpuPerRequest').toFixed(0)} [${spread(clients, 'cpuPerRequest')}] |`
    )
  }
  console.log(
    `\nargon2id alone, ${concurrency} at once: ${alone.perSecond.toFixed(1)} verifications/s (the ceiling of logins/s), ${alone.ms.toFixed(0)} ms each: ` +
      `an answered login waits for at most ${1 + queue / concurrency} hashes, ${((1 + queue / concurrency) * alone.ms).toFixed(0)} ms of hashing`
  )
} finally {
  server.kill()
}
