import { test } from 'tap'
import { dependency } from '../../plugins/core/dependency.js'

function recorder (): { lines: Array<[string, string, object]>, log: { warn: (d: object, m: string) => void, info: (d: object, m: string) => void } } {
  const lines: Array<[string, string, object]> = []
  return { lines, log: { warn: (d, m) => lines.push(['warn', m, d]), info: (d, m) => lines.push(['info', m, d]) } }
}

test('a dependency half down is one outage: back only once a call succeeds a second after the last failure', async (t) => {
  let now = 0
  const own = recorder()
  const redis = dependency('Redis', own.log, 1000, () => now)
  const down = new Error('CLUSTERDOWN The cluster is down')
  for (let i = 0; i <= 100; i++) {
    now += 10
    if (i % 2 === 0) redis.failed(down)
    else redis.succeeded()
  }
  t.equal(redis.up, false)
  t.same(own.lines.map(([level, message]) => [level, message]), [['warn', 'Redis unavailable']], 'failures and successes interleaved: one line')
  now += 999
  redis.succeeded()
  t.equal(redis.up, false, 'not yet a second since the last failure')
  now += 1
  redis.succeeded()
  t.equal(redis.up, true)
  t.same(own.lines.map(([level, message]) => [level, message]), [['warn', 'Redis unavailable'], ['info', 'Redis available again']])
})

test('without a log of its own, a change is told on the log of the call that saw it', async (t) => {
  let now = 0
  const store = dependency('store', undefined, 1000, () => now)
  const first = recorder()
  const second = recorder()
  store.failed('not an Error', first.log)
  store.failed(new Error('again'), second.log)
  now += 1000
  store.succeeded(second.log)
  t.match(first.lines, [['warn', 'store unavailable', { reason: 'not an Error' }]])
  t.match(second.lines, [['info', 'store available again', { down_ms: 1000 }]])
  t.equal(first.lines.length + second.lines.length, 2)
  store.failed(new Error('x'))
  t.equal(store.up, false, 'no log at all: the state still changes')
})
