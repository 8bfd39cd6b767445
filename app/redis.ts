import { Type, type Static } from '@sinclair/typebox'
import { Cluster, Redis, type RedisOptions } from 'ioredis'
import { ConfigError, readVariableFile, serverUrl } from './config-env.js'
import { PermanentFault } from './startup.js'

/** Any Redis the app talks to: a node, a Cluster, or the master Sentinel names (a `Redis`). */
export type RedisClient = Redis | Cluster

export interface HostPort {
  host: string
  port: number
}

/** How to reach Redis: one of REDIS_URL, REDIS_CLUSTER_NODES, REDIS_SENTINELS (with their TLS CA and password). */
export type RedisSettings = (
  { kind: 'node'; url: string } | { kind: 'cluster'; nodes: HostPort[] } | { kind: 'sentinel'; sentinels: HostPort[]; name: string }
) & {
  /** PEM certificates of the CA that signs the servers' (TLS on, verified against it). */
  ca?: string
  password?: string
}

/** The variables that configure Redis (part of config.ts's environment schema). */
export const REDIS_VARIABLES = {
  REDIS_URL: Type.Optional(Type.String({ pattern: '^rediss?://' })),
  REDIS_CLUSTER_NODES: Type.Optional(Type.String({ minLength: 1 })),
  REDIS_SENTINELS: Type.Optional(Type.String({ minLength: 1 })),
  REDIS_SENTINEL_NAME: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_.-]{1,64}$' })),
  REDIS_TLS_CA_FILE: Type.Optional(Type.String({ minLength: 1 })),
  REDIS_PASSWORD: Type.Optional(Type.String({ minLength: 1 }))
}
type RedisVariables = Static<ReturnType<typeof Type.Object<typeof REDIS_VARIABLES>>>

function hostPorts (variable: string, value: string): HostPort[] {
  const entries = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
  if (entries.length === 0) throw new ConfigError(variable, 'names no host:port')
  return entries.map((entry) => {
    const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(entry)
    const port = Number(match?.[2])
    if (match === null || port < 1 || port > 65_535) throw new ConfigError(variable, `'${entry}' is not host:port`)
    return { host: match[1].replace(/^\[(.*)\]$/, '$1'), port }
  })
}

const redisUrl = (value: string): URL => serverUrl('REDIS_URL', value, 'redis://host:6379')

/** The one Redis topology the variables describe; several, or pieces of one, are refused by name. */
function topology (e: RedisVariables): RedisSettings | undefined {
  const given = (['REDIS_URL', 'REDIS_CLUSTER_NODES', 'REDIS_SENTINELS'] as const).filter((name) => e[name] !== undefined)
  if (given.length > 1) throw new ConfigError(given[1], `set together with ${given[0]}; give one of them (a node, a Cluster or Sentinel)`)
  if (e.REDIS_SENTINEL_NAME !== undefined && e.REDIS_SENTINELS === undefined) {
    throw new ConfigError('REDIS_SENTINEL_NAME', 'is for REDIS_SENTINELS, which is not set')
  }
  if (e.REDIS_URL !== undefined) return { kind: 'node', url: e.REDIS_URL }
  if (e.REDIS_CLUSTER_NODES !== undefined) return { kind: 'cluster', nodes: hostPorts('REDIS_CLUSTER_NODES', e.REDIS_CLUSTER_NODES) }
  if (e.REDIS_SENTINELS === undefined) return undefined
  if (e.REDIS_SENTINEL_NAME === undefined) {
    throw new ConfigError('REDIS_SENTINEL_NAME', 'is required with REDIS_SENTINELS (the master name the sentinels monitor)')
  }
  return { kind: 'sentinel', sentinels: hostPorts('REDIS_SENTINELS', e.REDIS_SENTINELS), name: e.REDIS_SENTINEL_NAME }
}

/** Redis from the environment, or undefined when none is configured. */
export function redisSettings (e: RedisVariables, cwd: string): RedisSettings | undefined {
  const settings = topology(e)
  for (const name of ['REDIS_TLS_CA_FILE', 'REDIS_PASSWORD'] as const) {
    if (settings === undefined && e[name] !== undefined) {
      throw new ConfigError(name, 'is set but no Redis is: set REDIS_URL, REDIS_CLUSTER_NODES or REDIS_SENTINELS')
    }
  }
  if (settings === undefined) return undefined
  if (settings.kind === 'node') {
    const url = redisUrl(settings.url)
    if (e.REDIS_TLS_CA_FILE !== undefined && url.protocol !== 'rediss:') {
      throw new ConfigError('REDIS_TLS_CA_FILE', 'is for TLS: REDIS_URL must then be rediss://')
    }
    if (e.REDIS_PASSWORD !== undefined && url.password !== '') {
      throw new ConfigError('REDIS_PASSWORD', 'set together with a password in REDIS_URL; give one of them')
    }
  }
  if (e.REDIS_TLS_CA_FILE !== undefined) {
    const ca = readVariableFile('REDIS_TLS_CA_FILE', e.REDIS_TLS_CA_FILE, cwd)
    if (!ca.includes('-----BEGIN CERTIFICATE-----')) throw new ConfigError('REDIS_TLS_CA_FILE', `${e.REDIS_TLS_CA_FILE} holds no PEM certificate`)
    settings.ca = ca
  }
  if (e.REDIS_PASSWORD !== undefined) settings.password = e.REDIS_PASSWORD
  return settings
}

const list = (nodes: HostPort[]): string => nodes.map((n) => `${n.host.includes(':') ? `[${n.host}]` : n.host}:${n.port}`).join(', ')

/** Where Redis is, for messages: host and port only, never a password (URLs may carry one). */
export function describeRedis (settings: RedisSettings): string {
  if (settings.kind === 'cluster') return `Redis Cluster at ${list(settings.nodes)}`
  if (settings.kind === 'sentinel') return `Redis master '${settings.name}' through Sentinel at ${list(settings.sentinels)}`
  const url = new URL(settings.url)
  return `Redis at ${url.hostname}:${url.port === '' ? 6379 : url.port}`
}

/** After a failover the old master is a replica and refuses writes: reconnect (to the new master) and resend. */
const reconnectOnReadonly = (err: Error): 2 | false => (err.message.startsWith('READONLY') ? 2 : false)

/** ms a command may wait for its answer. */
const COMMAND_TIMEOUT = 1_000

/**
 * One client for the whole app: rate limits, lockout, revocations. It fails fast: a command while
 * the connection is down errors at once (no offline queue, one retry) instead of holding the
 * request, and each consumer then fails closed or open as it documents. Not connected yet:
 * `connectRedis()` (start-up) or `connect()`.
 */
export function createRedis (settings: RedisSettings): RedisClient {
  const tls = settings.ca === undefined ? {} : { tls: { ca: settings.ca } }
  const password = settings.password === undefined ? {} : { password: settings.password }
  // A node that hangs without closing the connection (a partition, a paused VM) fails a command
  // after a second too: without a timeout, the fallbacks and fail-opens would never start.
  const node: RedisOptions = { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: COMMAND_TIMEOUT, ...password, ...tls }
  if (settings.kind === 'cluster') {
    // A node that became a replica answers MOVED, which the Cluster client follows by itself.
    return new Cluster(settings.nodes, {
      lazyConnect: true,
      enableOfflineQueue: false,
      redisOptions: { maxRetriesPerRequest: 1, commandTimeout: COMMAND_TIMEOUT, ...password, ...tls }
    })
  }
  if (settings.kind === 'sentinel') {
    return new Redis({
      ...node,
      sentinels: settings.sentinels,
      name: settings.name,
      role: 'master',
      reconnectOnError: reconnectOnReadonly,
      ...(settings.ca === undefined ? {} : { sentinelTLS: { ca: settings.ca }, enableTLSForSentinelMode: true })
    })
  }
  return new Redis(settings.url, { ...node, reconnectOnError: reconnectOnReadonly })
}

// Node's codes for a certificate it does not trust: another try gets the same answer.
const CERTIFICATE =
  /^(SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT(_LOCALLY)?|CERT_HAS_EXPIRED|CERT_NOT_YET_VALID|CERT_UNTRUSTED|CERT_SIGNATURE_FAILURE|CERT_REVOKED|ERR_TLS_CERT_ALTNAME_INVALID)$/

function connectFault (err: Error): Error {
  const code = (err as { code?: unknown }).code
  if (typeof code === 'string' && CERTIFICATE.test(code)) return new PermanentFault(`TLS certificate verification failed (${code})`)
  if (/^(WRONGPASS|NOAUTH)\b/.test(err.message)) return new PermanentFault(`authentication failed (${err.message.split(' ')[0]})`)
  return err
}

/**
 * A client made and connected, once, within `timeout` ms. A failure is the one the client reported
 * on its 'error' event, not ioredis's `Connection is closed.`: a refused certificate or password is
 * named as such (a `PermanentFault`). A failed client is disconnected and dropped (a client
 * disconnected by hand keeps a flag that would stop its next reconnection): each try is a new one.
 */
export async function connectRedis (settings: RedisSettings, timeout = 10_000): Promise<RedisClient> {
  const client = createRedis(settings)
  let reported: Error | undefined
  const onError = (err: Error): void => {
    reported = (err as { lastNodeError?: Error }).lastNodeError ?? err
  }
  client.on('error', onError)
  const connecting = client.connect()
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => {
      reject(Object.assign(new Error(`no answer within ${timeout / 1000} s`), { code: 'ETIMEDOUT' }))
    }, timeout)
  })
  try {
    await Promise.race([connecting, late])
    return client
  } catch (err) {
    connecting.catch(() => {})
    client.disconnect()
    throw connectFault(reported ?? (err as Error))
  } finally {
    clearTimeout(timer)
    client.off('error', onError)
  }
}
