import { test } from 'tap'
import { Availability } from '../../plugins/core/availability.js'

function recorder (): { lines: Array<[string, object, string]>, log: { warn: (d: object, m: string) => void, info: (d: object, m: string) => void } } {
  const lines: Array<[string, object, string]> = []
  return { lines, log: { warn: (d, m) => lines.push(['warn', d, m]), info: (d, m) => lines.push(['info', d, m]) } }
}

test('an outage is one warn line when it starts and one info line when it ends', async (t) => {
  const { lines, log } = recorder()
  let now = 1_000
  const redis = new Availability('Redis', log, () => now)
  const changes: boolean[] = []
  redis.onChange((up) => changes.push(up))
  t.equal(redis.up, true)
  redis.succeeded()
  t.same(lines, [], 'a success while up says nothing')
  for (let i = 0; i < 100; i++) redis.failed(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6390'), { code: 'ECONNREFUSED' }))
  t.equal(redis.up, false)
  now = 4_500
  redis.succeeded()
  redis.succeeded()
  t.equal(redis.up, true)
  t.same(lines, [
    ['warn', { dependency: 'Redis', reason: 'connect ECONNREFUSED 127.0.0.1:6390', code: 'ECONNREFUSED' }, 'Redis unavailable'],
    ['info', { dependency: 'Redis', down_ms: 3_500 }, 'Redis available again']
  ])
  t.same(changes, [false, true])
})

test('track passes results and errors on, and records the state', async (t) => {
  const { lines, log } = recorder()
  const db = new Availability('database', log)
  const boom = new Error('terminating connection due to administrator command')
  await t.rejects(db.track(async () => { throw boom }), boom)
  t.equal(db.up, false)
  t.equal(await db.track(async () => 42), 42)
  t.equal(db.up, true)
  t.same(lines.map(([level, , message]) => [level, message]), [['warn', 'database unavailable'], ['info', 'database available again']])
})
