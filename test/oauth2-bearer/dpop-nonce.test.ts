import t from 'tap'
import { createHmac, randomBytes } from 'node:crypto'
import { dpopNonces } from '../../plugins/oauth2-bearer/dpop-nonce.js'

// Server nonces (RFC 9449 §8) without state: a window number and its HMAC, accepted in its window
// and the next, by every instance that shares the secret.
const SECRET = randomBytes(32)
const WINDOW = 300_000

t.test('a nonce is accepted in its window and the next, then refused', async (t) => {
  let now = 1_000 * WINDOW + 1
  const nonces = dpopNonces({ secret: SECRET, now: () => now })
  const nonce = nonces.current()
  t.match(nonce, /^1000\.[A-Za-z0-9_-]{43}$/, 'the window and an HMAC of it, within NQCHAR')
  t.equal(nonces.current(), nonce, 'the same for the whole window')
  t.ok(nonces.check(nonce))
  now += WINDOW - 2
  t.ok(nonces.check(nonce), 'at the end of its window')
  now += 1
  t.not(nonces.current(), nonce, 'a new window, a new nonce')
  t.ok(nonces.check(nonce), 'the previous window: still accepted')
  t.ok(nonces.check(nonces.current()))
  now += WINDOW
  t.notOk(nonces.check(nonce), 'two windows on: expired')
  now += 10 * WINDOW
  t.notOk(nonces.check(nonce), 'long after')
})

t.test('instances that share the secret accept each other nonces; another secret, a forgery or garbage are refused', async (t) => {
  const now = (): number => 7 * WINDOW
  const one = dpopNonces({ secret: SECRET, now })
  t.ok(dpopNonces({ secret: Buffer.from(SECRET), now }).check(one.current()), 'another instance, the same secret')
  const text = 'a secret of at least thirty-two bytes, shared'
  t.ok(dpopNonces({ secret: Buffer.from(text), now }).check(dpopNonces({ secret: text, now }).current()), 'given as a string or a Buffer: the same nonces')
  t.notOk(dpopNonces({ secret: randomBytes(32), now }).check(one.current()), 'another secret')
  t.notOk(dpopNonces({ now }).check(one.current()), 'a random secret of its own')
  const [window, mac] = one.current().split('.')
  const forged = createHmac('sha256', randomBytes(32)).update(`dpop-nonce ${window}`).digest('base64url')
  for (const nonce of [
    `${window}.${forged}`,
    `${Number(window) + 1}.${mac}`,
    `${window}.${mac.slice(1)}`,
    `${window}.${mac}x`,
    ` ${window}.${mac}`,
    `${window}.${mac.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'))}`,
    '',
    'garbage',
    'x'.repeat(10_000),
    undefined
  ]) {
    t.notOk(one.check(nonce), `refused: ${String(nonce).slice(0, 40)}`)
  }
  t.ok(one.check(`${window}.${mac}`), 'the control case')
  const clock = dpopNonces({ secret: SECRET })
  t.ok(clock.check(clock.current()), 'the clock by default: Date.now')
})

t.test('a shorter lifetime, and the options checked by name', async (t) => {
  let now = 0
  const nonces = dpopNonces({ secret: SECRET, lifetime: 10, now: () => now })
  const nonce = nonces.current()
  now = 19_999
  t.ok(nonces.check(nonce))
  now = 20_000
  t.notOk(nonces.check(nonce))
  t.throws(() => dpopNonces({ secret: 'short' }), { code: 'WARDEN_ERR_OPTION', message: "option 'dpop.nonce.secret' must be at least 32 bytes" })
  t.throws(() => dpopNonces({ secret: 32 as never }), { code: 'WARDEN_ERR_OPTION', message: /'dpop.nonce.secret' must be a string or a Buffer/ })
  t.throws(() => dpopNonces({ lifetime: 0 }), { code: 'WARDEN_ERR_OPTION', message: /'dpop.nonce.lifetime' must be an integer/ })
  t.throws(() => dpopNonces({ lifetime: 1.5 }), { code: 'WARDEN_ERR_OPTION', message: /'dpop.nonce.lifetime'/ })
  const secret = Buffer.from(SECRET)
  const copied = dpopNonces({ secret, now: () => 0 })
  const before = copied.current()
  secret.fill(0)
  t.ok(dpopNonces({ secret: SECRET, now: () => 0 }).check(before) && copied.current() === before, 'the secret is copied: the caller may reuse its Buffer')
})
