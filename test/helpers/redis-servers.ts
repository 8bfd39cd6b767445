import type { Test } from 'tap'
import { spawn, execFile, type ChildProcess } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createServer } from 'node:net'
import { promisify } from 'node:util'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import { once } from 'node:events'

const run = promisify(execFile)

/** A redis-server process of a test's own, on a port of its own: stopped, restarted and killed at will. */
export interface RedisServer {
  readonly port: number
  readonly url: string
  /** Start it again (same port, same arguments); its data is gone. */
  start(): Promise<void>
  /** Stop it at once (SIGKILL): an outage as clients meet it. */
  stop(): Promise<void>
  /** Freeze it (SIGSTOP) or thaw it: a node that hangs with its connections open. */
  pause(): void
  resume(): void
}

export interface RedisCluster {
  readonly nodes: ReadonlyArray<{ host: string; port: number }>
  readonly servers: readonly RedisServer[]
}

export interface RedisSentinel {
  readonly name: string
  readonly sentinels: ReadonlyArray<{ host: string; port: number }>
  /** The master's port now. */
  master(): Promise<number>
  /** SENTINEL FAILOVER: the replica becomes the master, the old master its replica (read-only). Resolves once done. */
  failover(): Promise<number>
}

/** True when this machine can run the topology tests (CI always can: .ci/run installs redis-server). */
export async function redisServerSkip (): Promise<string | false> {
  if (process.env.CI === 'true') return false
  return await run('redis-server', ['--version']).then(
    () => false as const,
    () => 'redis-server is not installed (CI runs this test)'
  )
}

async function portFree (port: number): Promise<boolean> {
  const server = createServer()
  return await new Promise((resolve) => {
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}

/** A free port whose cluster-bus port (+10000) is free too. */
async function spareRedisPort (): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 30_000)
    if ((await portFree(port)) && (await portFree(port + 10_000))) return port
  }
}

async function ping (port: number): Promise<boolean> {
  const client = new Redis({ port, host: '127.0.0.1', lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 })
  client.on('error', () => {})
  try {
    await client.connect()
    return (await client.ping()) === 'PONG'
  } catch {
    return false
  } finally {
    client.disconnect()
  }
}

async function until (what: string, check: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const end = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await sleep(50)
  }
}

interface ServerOptions {
  /** Extra command-line settings. */
  args?: string[]
  /** Its working directory (removed at teardown). */
  dir?: string
  /** A configuration file: a Sentinel's, which it rewrites. */
  sentinelConfig?: string
}

/** Start a redis-server of this test's own (stopped at teardown). */
export async function startRedisServer (t: Test, options: ServerOptions = {}): Promise<RedisServer> {
  const port = await spareRedisPort()
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'warden-redis-'))
  const argv =
    options.sentinelConfig === undefined
      ? ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, ...(options.args ?? [])]
      : [options.sentinelConfig, '--sentinel', '--port', String(port), '--bind', '127.0.0.1', '--dir', dir]
  let child: ChildProcess | undefined
  const server: RedisServer = {
    port,
    url: `redis://127.0.0.1:${port}`,
    async start () {
      if (child !== undefined) return
      child = spawn('redis-server', argv, { stdio: 'ignore' })
      const started = child
      started.once('exit', () => {
        if (child === started) child = undefined
      })
      await until(`redis-server on ${port}`, async () => await ping(port))
    },
    pause () {
      child?.kill('SIGSTOP')
    },
    resume () {
      child?.kill('SIGCONT')
    },
    async stop () {
      const running = child
      if (running === undefined) return
      child = undefined
      const exited = new Promise((resolve) => running.once('exit', resolve))
      running.kill('SIGKILL')
      await exited
    }
  }
  t.teardown(async () => {
    await server.stop()
    rmSync(dir, { recursive: true, force: true })
  })
  await server.start()
  return server
}

/** A Redis Cluster of `masters` masters and no replicas, every slot assigned. */
export async function startRedisCluster (t: Test, masters = 3): Promise<RedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'warden-cluster-'))
  const servers = await Promise.all(
    Array.from({ length: masters }, async (_, i) => {
      const own = join(dir, String(i))
      mkdirSync(own)
      return await startRedisServer(t, {
        args: ['--cluster-enabled', 'yes', '--cluster-config-file', join(own, 'nodes.conf'), '--cluster-node-timeout', '2000'],
        dir: own
      })
    })
  )
  await run('redis-cli', ['--cluster', 'create', ...servers.map((s) => `127.0.0.1:${s.port}`), '--cluster-replicas', '0', '--cluster-yes'])
  await until('the cluster to be ok', async () => {
    const states = await Promise.all(servers.map(async (s) => (await run('redis-cli', ['-p', String(s.port), 'cluster', 'info'])).stdout))
    return states.every((info) => info.includes('cluster_state:ok'))
  })
  return { nodes: servers.map((s) => ({ host: '127.0.0.1', port: s.port })), servers }
}

/** A master, its replica and one Sentinel watching them (quorum 1). */
/**
 * A client of a test's own server, as an app holds one to share counters or proofs: no offline
 * queue, no retries, `commandTimeout` ms per command; its errors (the test stops the server) are
 * the test's to see in answers, not as unhandled events; disconnected at the end; ready.
 */
export async function serverClient (t: Test, server: RedisServer, commandTimeout: number): Promise<Redis> {
  const redis = new Redis(server.url, { maxRetriesPerRequest: 0, enableOfflineQueue: false, commandTimeout })
  redis.on('error', () => {})
  t.teardown(() => redis.disconnect())
  await once(redis, 'ready')
  return redis
}

export async function startRedisSentinel (t: Test, name = 'warden'): Promise<RedisSentinel> {
  const master = await startRedisServer(t)
  const replica = await startRedisServer(t, { args: ['--replicaof', '127.0.0.1', String(master.port)] })
  await until('the replica to sync', async () =>
    (await run('redis-cli', ['-p', String(replica.port), 'info', 'replication'])).stdout.includes('master_link_status:up')
  )
  const dir = mkdtempSync(join(tmpdir(), 'warden-sentinel-'))
  const config = join(dir, 'sentinel.conf')
  writeFileSync(
    config,
    [
      `sentinel monitor ${name} 127.0.0.1 ${master.port} 1`,
      `sentinel down-after-milliseconds ${name} 1000`,
      `sentinel failover-timeout ${name} 5000`,
      'sentinel resolve-hostnames no'
    ].join('\n') + '\n'
  )
  const sentinel = await startRedisServer(t, { sentinelConfig: config, dir })
  const ask = async (...args: string[]): Promise<string> => (await run('redis-cli', ['-p', String(sentinel.port), ...args])).stdout
  const masterPort = async (): Promise<number> => Number((await ask('sentinel', 'get-master-addr-by-name', name)).trim().split('\n')[1])
  await until('the sentinel to see the replica', async () => (await ask('sentinel', 'replicas', name)).includes(String(replica.port)))
  return {
    name,
    sentinels: [{ host: '127.0.0.1', port: sentinel.port }],
    master: masterPort,
    async failover () {
      const before = await masterPort()
      await ask('sentinel', 'failover', name)
      await until('the failover', async () => (await masterPort()) !== before)
      const after = await masterPort()
      await until('the new master to accept writes', async () =>
        (await run('redis-cli', ['-p', String(after), 'info', 'replication'])).stdout.includes('role:master')
      )
      return after
    }
  }
}
