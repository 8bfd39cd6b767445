import t from 'tap'
import { randomUUID } from 'node:crypto'
import { referenceApp, testConfig } from '../helpers/reference-app.js'
import { closeSharedDatabase, redisSkip, REDIS_URL, testDatabase } from '../helpers/services.js'
import { proofKey } from '../helpers/dpop.js'
import { createRedis } from '../../app/redis.js'
import { openStores } from '../../app/stores.js'

// With Redis, the app remembers used DPoP proofs there: a proof one instance took is a replay on
// every other. While Redis does not answer, a DPoP request cannot be told from a replay and is
// refused with a 503 (fail closed); bearer clients, which need no proof, go on.

t.teardown(closeSharedDatabase)

t.test('two instances on one Redis: a proof used on one is refused on the other; Redis down: DPoP 503, bearer 200', { skip: await redisSkip() }, async (t) => {
  // The app's own client: no offline queue, a command timeout, so an outage fails a command at once.
  const redis = createRedis({ kind: 'node', url: REDIS_URL })
  await redis.connect()
  t.teardown(() => { redis.disconnect() })
  const config = testConfig({ REDIS_URL })
  const namespace = `test-${randomUUID()}`
  const db = await testDatabase(t)
  const one = await referenceApp(t, { config, redis, rateLimitNamespace: namespace, stores: await openStores({ database: db }) })
  // The same database, which the first instance closes.
  const two = await referenceApp(t, { config, redis, rateLimitNamespace: namespace, stores: await openStores({ database: { ...db, close: async () => {} } }) })
  const key = await proofKey()
  const { access_token: bound } = await one.dpopLogin(key)
  const { access_token: plain } = await one.login()

  const headers = await one.dpop(bound, key, 'GET', '/users/me')
  t.equal((await one.app.inject({ url: '/users/me', headers })).statusCode, 200)
  const replayed = await two.app.inject({ url: '/users/me', headers })
  t.equal(replayed.statusCode, 401, 'the other instance knows the proof was used')
  t.match(replayed.headers['www-authenticate'], /error="invalid_dpop_proof"/)
  t.equal((await two.app.inject({ url: '/users/me', headers: await two.dpop(bound, key, 'GET', '/users/me') })).statusCode, 200, 'a fresh proof passes there')
  t.equal((await redis.keys(`${namespace}:dpop:*`)).length, 3, 'each proof used, under the namespace: the login\'s and two calls\'')

  redis.disconnect()
  const down = await one.app.inject({ url: '/users/me', headers: await one.dpop(bound, key, 'GET', '/users/me') })
  t.equal(down.statusCode, 503, 'a proof that cannot be checked for replay is refused')
  t.equal(down.headers['retry-after'], '5', 'with Retry-After')
  t.equal(down.headers['content-type'], 'application/problem+json; charset=utf-8')
  t.equal((await one.app.inject({ url: '/users/me', headers: one.bearer(plain) })).statusCode, 200, 'a bearer token needs no Redis')
})
