import t from 'tap'
import { schemesApp } from '../helpers/schemes.js'
import { proofKey } from '../helpers/dpop.js'
import { serverClient, startRedisServer, redisServerSkip } from '../helpers/redis-servers.js'
import { redisDpopReplay } from '../../stores/index.js'

// RFC 9449 §11.1: a proof must not be accepted twice while it is acceptable. redisDpopReplay
// stores each proof with `SET … PXAT expiresAt NX`: an absolute instant computed on the app's
// clock, kept until then on the Redis server's clock. Any app instance whose clock is behind
// Redis's by Δ accepts, during the last Δ of a proof's window, a proof whose key Redis has
// already expired (or never kept: PXAT in the past stores nothing and answers OK). A captured
// proof then replays without limit in that slice. Here the app runs 3 s behind Redis (both on
// this machine's clock; the app's `now` is shifted): a proof with one second left is replayed.

const SKEW = 3000
const LIFETIME = 60
const TOLERANCE = 30

t.test('a proof near the end of its window replays on an instance whose clock is behind Redis\'s', { skip: await redisServerSkip() }, async (t) => {
  const redis = await serverClient(t, await startRedisServer(t), 1000)

  const appNow = (): number => Date.now() - SKEW
  const fixture = await schemesApp({
    clock: appNow,
    bearer: { dpop: { replay: redisDpopReplay(redis), proofLifetime: LIFETIME }, clockTolerance: TOLERANCE }
  })
  const { app } = fixture
  app.get('/r', { schema: { security: [{ oauth2: [] }] } }, async () => 'ok')
  await app.ready()
  t.teardown(() => app.close())

  const key = await proofKey()
  const bound = fixture.token([], { cnf: { jkt: key.jkt } })
  // Signed by the client (on the app's clock) so that 2 s of its window remain, on the app's clock.
  const iat = Math.floor(appNow() / 1000) - LIFETIME - TOLERANCE + 2
  const proof = await key.proof({ htm: 'GET', htu: 'http://localhost:80/r', token: bound, iat })

  const codes: number[] = []
  for (let i = 0; i < 5; i++) {
    codes.push((await app.inject({ url: '/r', headers: { authorization: `DPoP ${bound}`, dpop: proof } })).statusCode)
  }
  t.comment('the same proof, five times:', codes.join(' '))
  t.equal(codes[0], 200, 'first use accepted')
  t.same(codes.slice(1), [401, 401, 401, 401], 'every replay refused')
})
