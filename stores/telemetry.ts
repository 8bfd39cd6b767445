import type { Histogram, MeterProvider } from '@opentelemetry/api'

type Api = typeof import('@opentelemetry/api')

// The stores' one instrument, through @opentelemetry/api when the app has it (an optional peer),
// on the meter the plugins use ('fastify-warden'): the stores take nothing but types from them.
let api: Api | null | undefined
const loading = import('@opentelemetry/api').then(
  (otel) => {
    api = otel
  },
  () => {
    api = null
  }
)
let lag: { provider: MeterProvider; histogram: Histogram } | undefined

/** Bind to the meter provider registered now (at `wardenStores()`, as the plugins do at registration). */
export async function loadStoreTelemetry (): Promise<void> {
  await loading
  if (api === null || api === undefined) return
  const provider = api.metrics.getMeterProvider()
  if (lag?.provider === provider) return
  const histogram = provider
    .getMeter('fastify-warden')
    .createHistogram('warden.revocation.lag', { description: 'From a revocation on one instance to its enforcement on this one', unit: 'ms' })
  lag = { provider, histogram }
}

/** A revocation announced by another instance `ms` ago is now in force here. */
export function recordRevocationLag (ms: number): void {
  lag?.histogram.record(Math.max(0, ms))
}
