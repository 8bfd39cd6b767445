import t from 'tap'
import { identityApp } from '../helpers/identity.js'
import { closeSharedDatabase } from '../helpers/services.js'

t.teardown(closeSharedDatabase)

t.test('health reports the load; an overloaded server sheds with a problem+json 503 and Retry-After (@fastify/under-pressure)', async (t) => {
  const { app } = await identityApp(t, { pressure: { maxEventLoopDelay: 50, sampleInterval: 5 } })
  // Start-up itself keeps the loop busy; wait for quiet samples (a load balancer would see 503 meanwhile).
  let health = await app.inject({ url: '/health' })
  for (let i = 0; i < 100 && health.statusCode !== 200; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10))
    health = await app.inject({ url: '/health' })
  }
  t.equal(health.statusCode, 200)
  t.match(health.json(), { status: 'ok', database: 'ok', load: { event_loop_delay_ms: Number, heap_used_bytes: Number, password_checks_running: 0, password_checks_queued: 0 } })

  // Hold the event loop for 300 ms, as a CPU-bound storm would; the next sample sees it.
  const until = Date.now() + 300
  while (Date.now() < until) { /* busy */ }
  await new Promise((resolve) => setTimeout(resolve, 20))
  const shed = await app.inject({ url: '/users/me' })
  t.equal(shed.statusCode, 503)
  t.equal(shed.headers['retry-after'], '1')
  t.equal(shed.headers['content-type'], 'application/problem+json; charset=utf-8')
  t.match(shed.json(), { status: 503, detail: /overloaded/ })

  // Recovered at the next quiet samples.
  let recovered = 0
  for (let i = 0; i < 50 && recovered !== 401; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10))
    recovered = (await app.inject({ url: '/users/me' })).statusCode
  }
  t.equal(recovered, 401, 'back to normal service (401 without a credential)')
})
