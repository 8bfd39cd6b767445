import { spawn, spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { createInterface } from 'node:readline'
import argon2 from 'argon2'
import autocannon from 'autocannon'

/**
 * A login storm against the reference app (PGlite, argon2id with the production parameters):
 * GET /users/me is offered a fixed 400 req/s with a valid token while 0, 20 or 200 connections
 * loop on POST /auth/token. Reported: what /users/me is served and its latency, the logins
 * answered and shed, the server's CPU time per request, and what argon2id alone reaches here.
 */
const DURATION = Number(process.env.BENCH_STORM_DURATION ?? 5)
const OFFERED = 400
const PASSWORD = 'bench admin password 1234'
const pinned = spawnSync('taskset', ['-cp', '1', String(process.pid)], { stdio: 'ignore' }).status === 0

const server = pinned
  ? spawn('taskset', ['-c', '0', process.execPath, '--import', 'tsx', new URL('./storm-server.ts', import.meta.url).pathname], { stdio: ['ignore', 'pipe', 'inherit'] })
  : spawn(process.execPath, ['--import', 'tsx', new URL('./storm-server.ts', import.meta.url).pathname], { stdio: ['ignore', 'pipe', 'inherit'] })
const first = await createInterface({ input: server.stdout! })[Symbol.asyncIterator]().next()
const { port } = JSON.parse(first.value as string) as { port: number }
const base = `http://127.0.0.1:${port}`

/** CPU time (user + system) the server process has used, in ms. */
function cpu (): number {
  const fields = readFileSync(`/proc/${server.pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return (Number(fields[11]) + Number(fields[12])) * 1000 / 100
}

/** A token for the measured route; after a storm the hasher may still be shedding for a moment. */
const login = async (): Promise<string> => {
  for (let attempt = 0; attempt < 100; attempt++) {
    const res = await fetch(`${base}/auth/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: 'password', username: 'admin', password: PASSWORD }) })
    if (res.status === 200) return ((await res.json()) as { access_token: string }).access_token
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error('no token: the server kept refusing logins')
}

interface Row { storm: number, served: number, p50: number, p99: number, logins: number, shed: number, loginP99: number, cpuPerRequest: number }

async function scenario (storm: number): Promise<Row> {
  const token = await login()
  const before = cpu()
  const api = autocannon({ url: `${base}/users/me`, headers: { authorization: `Bearer ${token}` }, connections: 20, overallRate: OFFERED, duration: DURATION })
  const logins = storm === 0
    ? undefined
    : autocannon({ url: `${base}/auth/token`, method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: 'password', username: 'admin', password: PASSWORD }).toString(), connections: storm, duration: DURATION })
  const [a, l] = await Promise.all([api, logins])
  if (process.env.BENCH_DEBUG !== undefined) console.error(storm, a.statusCodeStats, l?.statusCodeStats)
  const used = cpu() - before
  const total = a.requests.total + (l?.requests.total ?? 0)
  return {
    storm,
    served: a['2xx'] / DURATION,
    p50: a.latency.p50,
    p99: a.latency.p99,
    logins: (l?.['2xx'] ?? 0) / DURATION,
    shed: (l?.non2xx ?? 0) / DURATION,
    loginP99: l?.latency.p99 ?? 0,
    cpuPerRequest: total === 0 ? 0 : used * 1000 / total
  }
}

/** argon2id alone, the same parameters, as many at once as the machine has cores: the ceiling. */
async function ceiling (): Promise<number> {
  const params = { type: argon2.argon2id, memoryCost: 19_456, timeCost: 2, parallelism: 1 }
  const hash = await argon2.hash(PASSWORD, params)
  const until = Date.now() + 3000
  let done = 0
  await Promise.all(Array.from({ length: availableParallelism() }, async () => {
    while (Date.now() < until) { await argon2.verify(hash, PASSWORD); done++ }
  }))
  return done / 3
}

try {
  await scenario(0) // warm-up
  const rows = [await scenario(0), await scenario(20), await scenario(200)]
  const idle = rows[0]
  console.log(`\nlogin storm: GET /users/me offered ${OFFERED} req/s for ${DURATION} s while N connections loop on POST /auth/token (argon2id m=19456 t=2 p=1), ${pinned ? 'server on CPU 0, load on CPU 1' : 'unpinned'}\n`)
  console.log('| logins in flight | /users/me served | share of offered | p50 ms | p99 ms | p99 vs idle | logins/s answered | logins/s shed (503) | login p99 ms | server CPU µs/request |')
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
  for (const r of rows) {
    console.log(`| ${r.storm} | ${r.served.toFixed(0)} | ${(100 * r.served / OFFERED).toFixed(0)} % | ${r.p50} | ${r.p99} | ${(r.p99 / idle.p99).toFixed(2)}× | ${r.logins.toFixed(1)} | ${r.shed.toFixed(1)} | ${r.loginP99} | ${r.cpuPerRequest.toFixed(0)} |`)
  }
  console.log(`\nargon2id alone on this machine, ${availableParallelism()} at once: ${(await ceiling()).toFixed(1)} verifications/s (the ceiling of logins/s)`)
} finally {
  server.kill()
}
