import t from 'tap'
import { ADMIN_PASSWORD, form, referenceApp } from '../helpers/reference-app.js'
import { childProcesses, schedulingPolicies } from '../helpers/processes.js'
import { closeSharedDatabase } from '../helpers/services.js'
import { createPasswordHasher } from '../../plugins/index.js'

t.teardown(closeSharedDatabase)

t.test('health reports the load; an overloaded server sheds with a problem+json 503 and Retry-After (@fastify/under-pressure)', async (t) => {
  const { app } = await referenceApp(t, { pressure: { maxEventLoopDelay: 50, sampleInterval: 5 } })
  // Start-up itself keeps the loop busy; wait for quiet samples (a load balancer would see 503 meanwhile).
  let health = await app.inject({ url: '/health' })
  for (let i = 0; i < 100 && health.statusCode !== 200; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10))
    health = await app.inject({ url: '/health' })
  }
  t.equal(health.statusCode, 200)
  t.match(health.json(), {
    status: 'ok',
    database: 'ok',
    load: { event_loop_delay_ms: Number, heap_used_bytes: Number, password_checks_running: 0, password_checks_queued: 0 }
  })

  // Hold the event loop for 300 ms, as a CPU-bound storm would. One of the next two samples (every
  // 10 ms, the plugin's floor) sees it, depending on whether the histogram recorded the stall
  // before or after the first; until the sample after, the server sheds.
  const until = Date.now() + 300
  while (Date.now() < until) {
    /* busy */
  }
  let shed = await app.inject({ url: '/users/me' })
  for (let i = 0; i < 20 && shed.statusCode !== 503; i++) {
    await new Promise((resolve) => setTimeout(resolve, 2))
    shed = await app.inject({ url: '/users/me' })
  }
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

t.test('a login the hasher would refuse is refused before the user is looked up', async (t) => {
  // A hash of ~100 ms holds the only slot while the storm arrives.
  const passwords = createPasswordHasher({ memoryCost: 65_536, timeCost: 3, concurrency: 1, queue: 0, refusalDelay: 0 })
  const { app, stores } = await referenceApp(t, { passwords })
  const lookups: string[] = []
  const findByUsername = stores.users.findByUsername.bind(stores.users)
  stores.users.findByUsername = async (username) => {
    lookups.push(username)
    return await findByUsername(username)
  }
  const held = passwords.hash('holding the only slot')
  const storm = await Promise.all(
    Array.from(
      { length: 3 },
      async () => await app.inject({ method: 'POST', url: '/auth/token', ...form({ grant_type: 'password', username: 'admin', password: ADMIN_PASSWORD }) })
    )
  )
  await held
  t.same(
    storm.map((r) => r.statusCode),
    [503, 503, 503]
  )
  t.same(lookups, [], 'no query for a refused login')
  const admitted = await app.inject({ method: 'POST', url: '/auth/token', ...form({ grant_type: 'password', username: 'admin', password: ADMIN_PASSWORD }) })
  t.equal(admitted.statusCode, 200, 'once the slot is free, the login goes through')
  t.same(lookups, ['admin'])
})

t.test('without a hasher given, the reference app hashes in a process of its own at the lowest priority, ended with the app', async (t) => {
  const { app, login } = await referenceApp(t, { passwords: undefined })
  const children = childProcesses()
  t.equal(children.length, 1, "one hashing process, started by the admin account's hash")
  t.same(new Set(schedulingPolicies(children[0])), new Set([5]), 'every thread of it in the idle scheduling class (SCHED_IDLE)')
  t.same(new Set(schedulingPolicies(process.pid)), new Set([0]), 'this process keeps its own')
  t.ok((await login('admin', ADMIN_PASSWORD)).access_token, 'logins are checked there')
  await app.close()
  t.same(childProcesses(), [], 'closing the app ends it')
})
