import type { Attributes, Counter, Meter, MeterProvider, Span, Tracer } from '@opentelemetry/api'

type Api = typeof import('@opentelemetry/api')

/** How an authentication ended, as a metric and a span report it (a class, never a credential). */
export type AuthenticationOutcome = 'success' | 'missing' | 'invalid' | 'insufficient_scope' | 'unavailable' | 'throttled'

/** What a login led to: the token endpoint's and HTTP Basic's, through `passwordLogin`. */
export type LoginOutcome = 'succeeded' | 'failed' | 'locked' | 'shed'

interface Instruments {
  provider: MeterProvider
  authentications: Counter
  logins: Counter
  lockouts: Counter
  jwksFetches: Counter
}

/** A source read when the metrics are collected, forgotten once its owner is gone. */
interface Watched<T extends object> {
  target: WeakRef<T>
  read: (target: T) => Array<[number, Attributes]>
}

const watched = { hashing: [] as Array<Watched<object>>, jwks: [] as Array<Watched<object>>, dependencies: [] as Array<Watched<object>> }
type Kind = keyof typeof watched

let api: Api | null | undefined
let loading: Promise<void> | undefined
let instruments: Instruments | undefined
let tracer: Tracer | undefined
// Attribute objects are made once per value: recording allocates nothing per request.
const attributeCache = new Map<string, Attributes>()

function attributes (key: string, make: () => Attributes): Attributes {
  let value = attributeCache.get(key)
  if (value === undefined) attributeCache.set(key, (value = Object.freeze(make())))
  return value
}

function observe (meter: Meter, name: string, description: string, unit: string, kind: Kind): void {
  meter.createObservableGauge(name, { description, unit }).addCallback((result) => {
    watched[kind] = watched[kind].filter((w) => {
      const target = w.target.deref()
      if (target === undefined) return false
      for (const [value, attrs] of w.read(target)) result.observe(value, attrs)
      return true
    })
  })
}

function create (otel: Api): Instruments {
  const provider = otel.metrics.getMeterProvider()
  const meter = provider.getMeter('fastify-warden')
  observe(meter, 'warden.password_hashing.load', 'Password hashes running and waiting', '{hash}', 'hashing')
  observe(meter, 'warden.jwks.age', 'Seconds since a provider key set was last fetched', 's', 'jwks')
  observe(meter, 'warden.dependency.available', 'Whether a dependency (Redis, the database) answers: 1 or 0', '1', 'dependencies')
  return {
    provider,
    authentications: meter.createCounter('warden.authentications', {
      description: 'Authentications of guarded requests, by scheme and outcome',
      unit: '{request}'
    }),
    logins: meter.createCounter('warden.logins', { description: 'Password logins (token endpoint and Basic), by outcome', unit: '{login}' }),
    lockouts: meter.createCounter('warden.lockouts', { description: 'Failed logins that started a lock', unit: '{lock}' }),
    jwksFetches: meter.createCounter('warden.jwks.fetches', { description: 'Fetches of provider key sets, by outcome', unit: '{fetch}' })
  }
}

/**
 * Bind to `@opentelemetry/api` when the app has it (an optional peer): metrics through the global
 * meter provider, spans through the global tracer provider. Without it every recording is a
 * no-op. Called at each registration of the core, so an SDK registered before the app is built
 * is the one used (the metrics API has no proxy provider).
 */
export async function loadTelemetry (importApi: () => Promise<Api> = async () => await import('@opentelemetry/api')): Promise<void> {
  loading ??= importApi().then(
    (otel) => {
      api = otel
    },
    () => {
      api = null
    }
  )
  await loading
  if (api === null || api === undefined) return
  tracer ??= api.trace.getTracer('fastify-warden')
  if (instruments?.provider !== api.metrics.getMeterProvider()) instruments = create(api)
}

/** One authentication's outcome, counted. */
export function countAuthentication (scheme: string, outcome: AuthenticationOutcome): void {
  instruments?.authentications.add(
    1,
    attributes(`a\u0000${scheme}\u0000${outcome}`, () => ({ 'warden.scheme': scheme, 'warden.outcome': outcome }))
  )
}

/** A span around a request's authentication; end it with `endAuthenticationSpan`. */
export function startAuthenticationSpan (): Span | undefined {
  return tracer?.startSpan('warden.authenticate')
}

export function endAuthenticationSpan (span: Span | undefined, scheme: string, outcome: AuthenticationOutcome): void {
  if (span === undefined) return
  span.setAttribute('warden.scheme', scheme)
  span.setAttribute('warden.outcome', outcome)
  // Status ERROR is for faults of the service, not for callers refused (OpenTelemetry's HTTP server rule).
  if (outcome === 'unavailable') span.setStatus({ code: 2 })
  span.end()
}

/** An authentication that reached an outcome: counted, and its span ended with it. */
export function reportAuthentication (span: Span | undefined, scheme: string, outcome: AuthenticationOutcome): void {
  countAuthentication(scheme, outcome)
  endAuthenticationSpan(span, scheme, outcome)
}

export function countLogin (outcome: LoginOutcome, startedLock: boolean): void {
  if (instruments === undefined) return
  instruments.logins.add(
    1,
    attributes(`l\u0000${outcome}`, () => ({ 'warden.outcome': outcome }))
  )
  if (startedLock) instruments.lockouts.add(1)
}

/** A URL as an attribute: without credentials, query or fragment (a JWKS URL may carry a key). */
export function publicUrl (url: string): string {
  try {
    const parsed = new URL(url)
    parsed.username = ''
    parsed.password = ''
    parsed.search = ''
    parsed.hash = ''
    return parsed.toString()
  } catch {
    return url.startsWith('http') ? 'invalid URL' : url
  }
}

export function countJwksFetch (url: string, ok: boolean): void {
  instruments?.jwksFetches.add(
    1,
    attributes(`j\u0000${url}\u0000${ok}`, () => ({ 'url.full': publicUrl(url), 'warden.outcome': ok ? 'ok' : 'error' }))
  )
}

/** Report a gauge read from `target` while it lives (a hasher, a key set, a dependency). */
export function watch<T extends object> (kind: Kind, target: T, read: (target: T) => Array<[number, Attributes]>): void {
  watched[kind].push({ target: new WeakRef(target), read: read as Watched<object>['read'] })
}
