import Fastify, { type FastifyInstance, type FastifyRequest, type FastifySchema } from 'fastify'
import fastifyJwt from '@fastify/jwt'
import { createHmac, generateKeyPairSync, randomBytes, randomUUID, sign, type KeyObject } from 'node:crypto'
import { warden, oauth2Bearer, apiKey, generateApiKey, trustedHosts, type RouteDemands } from '../plugins/index.js'
import { dpopKey, type DpopClient } from './dpop-proofs.js'

/** The configurations measured against each other, all serving the same route. */
export const CONFIGS = [
  'bare',
  'trusted-hosts',
  'hs256-floor',
  'hmac-floor',
  'bearer',
  'bearer-cache',
  'bearer-cache-otel',
  'bearer-cache-step-up',
  'bearer-cache-demand',
  'bearer-es256',
  'bearer-eddsa',
  'bearer-issuers-1',
  'bearer-issuers-3',
  'dpop',
  'dpop-cache',
  'dpop-es256',
  'dpop-es256-cache',
  'api-key',
  'api-key-cache',
  'api-key-owner',
  'fastify-jwt'
] as const
export type Config = (typeof CONFIGS)[number]

export const LABELS: Record<Config, string> = {
  bare: 'bare Fastify route (no auth)',
  'trusted-hosts': "bare route behind trustedHosts (the Host parsed by RFC 9110's grammar)",
  'hs256-floor': 'floor of HS256: one HMAC-SHA256 + one payload decode in a hook',
  'hmac-floor': 'floor of API keys: one HMAC-SHA256 of the key in a hook',
  bearer: 'oauth2Bearer, HS256, cache off',
  'bearer-cache': 'oauth2Bearer, HS256, cache on',
  'bearer-cache-otel': 'oauth2Bearer, HS256, cache on, OpenTelemetry SDK recording (metrics and spans)',
  'bearer-cache-step-up': "oauth2Bearer, HS256, cache on, step-up route ('x-step-up': { max_age })",
  'bearer-cache-demand': "oauth2Bearer, HS256, cache on, a scope demanded by the handler ('x-scope-demands', request.demandScopes())",
  'bearer-es256': 'oauth2Bearer, ES256, cache off',
  'bearer-eddsa': 'oauth2Bearer, EdDSA (Ed25519), cache off',
  'bearer-issuers-1': 'oauth2Bearer, issuers: one (ES256, keys held), cache off',
  'bearer-issuers-3': 'oauth2Bearer, issuers: three (the same ES256 one after RS256 and EdDSA decoys), cache off',
  dpop: 'oauth2Bearer + DPoP, ES256 proof, HS256 token, cache off',
  'dpop-cache': 'oauth2Bearer + DPoP, ES256 proof, HS256 token, cache on',
  'dpop-es256': 'oauth2Bearer + DPoP, ES256 proof, ES256 token, cache off',
  'dpop-es256-cache': 'oauth2Bearer + DPoP, ES256 proof, ES256 token, cache on',
  'api-key': 'apiKey, HMAC-SHA256, cache off',
  'api-key-cache': 'apiKey, cache on',
  'api-key-owner': 'apiKey, cache on, resolveUser on every request',
  'fastify-jwt': '@fastify/jwt request.jwtVerify() (peer)'
}

/** The verified-token cache on. */
const CACHED: ReadonlySet<Config> = new Set([
  'bearer-cache', 'bearer-cache-otel', 'bearer-cache-step-up', 'bearer-cache-demand', 'dpop-cache', 'dpop-es256-cache'
])
const STEP_UP_MAX_AGE = 86_400

/**
 * What a configuration's route asks beyond its scopes: the DPoP rows a proof with every request
 * ('x-dpop': 'required', with tokens bound to the client's key), the step-up row a recent login.
 */
export const DEMANDS: Partial<Record<Config, RouteDemands>> = {
  'bearer-cache-step-up': { stepUp: { maxAge: STEP_UP_MAX_AGE } },
  dpop: { dpop: 'required' },
  'dpop-cache': { dpop: 'required' },
  'dpop-es256': { dpop: 'required' },
  'dpop-es256-cache': { dpop: 'required' }
}

const ISSUER = 'https://bench.invalid'
const AUDIENCE = 'https://bench.invalid/api'
const handler = async () => ({ hello: 'world' })
const demanding = async (request: FastifyRequest) => {
  request.demandScopes('read')
  return { hello: 'world' }
}

/** The OpenTelemetry SDK with every span sampled and batched, exported nowhere, and a metric reader. */
async function recordTelemetry (): Promise<void> {
  const { metrics, trace } = await import('@opentelemetry/api')
  const { MeterProvider, PeriodicExportingMetricReader, InMemoryMetricExporter, AggregationTemporality } = await import('@opentelemetry/sdk-metrics')
  const { BasicTracerProvider, BatchSpanProcessor } = await import('@opentelemetry/sdk-trace-base')
  const reader = new PeriodicExportingMetricReader({ exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE), exportIntervalMillis: 60_000 })
  metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }))
  const nowhere = {
    export: (_spans: unknown[], done: (result: { code: number }) => void) => {
      done({ code: 0 })
    },
    shutdown: async () => {}
  }
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(nowhere)] }))
}

/** An ES256 access token of `ISSUER` signed by hand: a scheme of several issuers signs none. */
function es256Token (privateKey: KeyObject, kid: string): string {
  const part = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url')
  const iat = Math.floor(Date.now() / 1000)
  const payload = { iss: ISSUER, aud: AUDIENCE, sub: 'user-1', scope: 'users:read', iat, exp: iat + 3600, jti: randomUUID() }
  const input = `${part({ alg: 'ES256', typ: 'at+jwt', kid })}.${part(payload)}`
  return `${input}.${sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url')}`
}

/**
 * The rows of several issuers: the token's issuer alone, or after two decoys of other key types
 * (what routing by `iss` adds over one issuer: one payload decode and one map lookup).
 */
async function issuersScheme (app: FastifyInstance, config: Config): Promise<{ authorization: string; token: string }> {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const own = { issuer: ISSUER, audience: AUDIENCE, keys: [{ ...publicKey.export({ format: 'jwk' }), kid: 'es256', alg: 'ES256' }] }
  const decoys = [
    { issuer: 'https://workforce.example', audience: AUDIENCE, keys: [generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey] },
    { issuer: 'https://partners.example', audience: AUDIENCE, keys: [generateKeyPairSync('ed25519').publicKey] }
  ]
  await app.register(oauth2Bearer, { issuers: config === 'bearer-issuers-3' ? [...decoys, own] : [own], cache: false })
  const token = es256Token(privateKey, 'es256')
  return { authorization: `Bearer ${token}`, token }
}

/** The access token scheme of a configuration: its signing key, cache and DPoP; the token sent, and the client key it is bound to. */
async function tokenScheme (app: FastifyInstance, config: Config, secret: Buffer): Promise<{ authorization: string; token: string; client?: DpopClient }> {
  if (config === 'bearer-issuers-1' || config === 'bearer-issuers-3') return await issuersScheme(app, config)
  const es256 = config === 'bearer-es256' || config === 'dpop-es256' || config === 'dpop-es256-cache'
  const keys = es256
    ? { signingKey: { kid: 'es256', privateKey: generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey } }
    : config === 'bearer-eddsa'
      ? { signingKey: { kid: 'eddsa', privateKey: generateKeyPairSync('ed25519').privateKey } }
      : { secret }
  // DPoP with its defaults (proofs accepted 60 s after their iat, the replay cache in memory).
  const dpop = DEMANDS[config]?.dpop !== undefined
  await app.register(oauth2Bearer, {
    ...keys,
    issuer: ISSUER,
    audience: AUDIENCE,
    expiresIn: 3600,
    cache: CACHED.has(config) ? { max: 10_000 } : false,
    jwksPath: false,
    ...(dpop ? { dpop: true } : {})
  })
  const claims = { sub: 'user-1', scope: ['users:read'] }
  if (dpop) {
    const key = dpopKey()
    const { token } = app.accessTokens.sign({ ...claims, cnf: { jkt: key.jkt } })
    return { authorization: `DPoP ${token}`, token, client: { ...key, token } }
  }
  const loggedIn = DEMANDS[config]?.stepUp !== undefined ? { auth_time: Math.floor(Date.now() / 1000) } : {}
  const { token } = app.accessTokens.sign({ ...claims, ...loggedIn })
  return { authorization: `Bearer ${token}`, token }
}

/** The route's schema: its security requirement and what it demands beyond it (`x-dpop`, `x-step-up`). */
function routeSchema (config: Config): FastifySchema {
  const scheme = config.startsWith('api-key') ? 'apiKey' : 'oauth2'
  const { dpop, stepUp } = DEMANDS[config] ?? {}
  return {
    security: [{ [scheme]: ['users:read'] }],
    ...(dpop === undefined ? {} : { 'x-dpop': dpop }),
    ...(stepUp?.maxAge === undefined ? {} : { 'x-step-up': { max_age: stepUp.maxAge } }),
    ...(config === 'bearer-cache-demand' ? { 'x-scope-demands': { read: ['users:read'] } } : {})
  }
}

/**
 * One app per configuration, each with its own per-run secret. Every configuration gets the
 * same request (both credentials), so the client does the same work whatever it measures; the
 * DPoP rows send their token as `DPoP`, and a proof of `client`'s key with each request.
 */
export async function benchApp (config: Config): Promise<{ app: FastifyInstance; headers: Record<string, string>; client?: DpopClient }> {
  // Before the app, as a user's app registers it: the SDK recording every metric and span.
  if (config === 'bearer-cache-otel') await recordTelemetry()
  const app = Fastify({ logger: false })
  const secret = randomBytes(32)
  await app.register(fastifyJwt, { secret, verify: { allowedIss: ISSUER, allowedAud: AUDIENCE } })
  await app.register(warden, { scopes: { 'users:read': 'Read users' } })
  const { authorization, token, client } = await tokenScheme(app, config, secret)
  const key = generateApiKey().key
  const owner = { name: 'svc' }
  await app.register(apiKey, {
    secret,
    keys: [{ id: 'bench', key, subject: 'svc', scopes: ['users:read'] }],
    cache: config === 'api-key-cache' || config === 'api-key-owner' ? { max: 10_000 } : false,
    // The owner from memory: what the check itself costs, not a database's answer.
    ...(config === 'api-key-owner' ? { resolveUser: () => owner } : {})
  })
  if (config === 'trusted-hosts') await app.register(trustedHosts, { hosts: ['127.0.0.1'] })
  if (config === 'bare' || config === 'trusted-hosts') {
    app.get('/hello', { schema: { security: [] } }, handler)
  } else if (config === 'hs256-floor') {
    // What any HS256 check must do in Node, and nothing else: the cost no verifier can go below.
    const [header, payload] = token.split('.')
    app.get(
      '/hello',
      {
        schema: { security: [] },
        onRequest: (_request, _reply, done) => {
          createHmac('sha256', secret)
            .update(header + '.' + payload)
            .digest()
          JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'))
          done()
        }
      },
      handler
    )
  } else if (config === 'hmac-floor') {
    // What an API-key check must do (one HMAC of the presented key), and nothing else.
    app.get(
      '/hello',
      {
        schema: { security: [] },
        onRequest: (request, _reply, done) => {
          createHmac('sha256', secret)
            .update(request.headers['x-api-key'] as string)
            .digest()
          done()
        }
      },
      handler
    )
  } else if (config === 'fastify-jwt') {
    // The peer, used the way its README shows: request.jwtVerify() in an onRequest hook.
    app.get(
      '/hello',
      {
        schema: { security: [] },
        onRequest: async (request) => {
          await request.jwtVerify()
        }
      },
      handler
    )
  } else {
    // The demand row's handler demands its scope once the body would be read, as an MCP tool's would.
    app.get('/hello', { schema: routeSchema(config) }, config === 'bearer-cache-demand' ? demanding : handler)
  }
  await app.ready()
  return { app, headers: { authorization, 'x-api-key': key }, ...(client === undefined ? {} : { client }) }
}
