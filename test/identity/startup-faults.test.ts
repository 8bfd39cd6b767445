import t from 'tap'
import { randomBytes } from 'node:crypto'
import { buildApp } from '../../app.js'
import { openStores } from '../../stores/identity.js'
import { openPostgres } from '../../stores/postgres.js'
import { fastPasswords, testConfig } from '../helpers/identity.js'
import { postgresSkip, POSTGRES_URL } from '../helpers/services.js'

t.test('three instances starting together on an empty database all start, with one administrator', { skip: await postgresSkip() }, async (t) => {
  const schema = `boot_${randomBytes(6).toString('hex')}`
  const admin = openPostgres(POSTGRES_URL, { max: 1 })
  await admin.query(`CREATE SCHEMA ${schema}`)
  t.teardown(async () => {
    await admin.query(`DROP SCHEMA ${schema} CASCADE`)
    await admin.close()
  })
  const config = testConfig()
  const created: string[] = []
  // Each its own pool on the same, unmigrated schema: migrations and bootstrap race for real.
  // (No load shedding: three start-ups on two cores stall the loop; shedding has tests of its own.)
  const instances = await Promise.allSettled([1, 2, 3].map(async () => {
    const stores = await openStores({ database: openPostgres(POSTGRES_URL, { searchPath: schema, max: 2 }) })
    const app = await buildApp({ config, stores, passwords: fastPasswords, logger: false, pressure: { maxEventLoopDelay: 0 }, onAdminCreated: (username) => { created.push(username) } })
    try {
      await app.ready()
    } catch (err) {
      await app.close()
      throw err
    }
    t.teardown(() => app.close())
    return app
  }))
  t.same(instances.map((i) => i.status === 'rejected' ? String(i.reason) : 'started'), ['started', 'started', 'started'])
  t.same(created, ['admin'], 'one of them created the administrator, and said so once')
  t.same(await admin.query(`SELECT username, role FROM ${schema}.users`), [{ username: 'admin', role: 'admin' }], 'exactly one user row')
  for (const instance of instances) {
    if (instance.status !== 'fulfilled') continue
    const login = await instance.value.inject({ method: 'POST', url: '/auth/token', payload: 'grant_type=password&username=admin&password=admin%20password%201234', headers: { 'content-type': 'application/x-www-form-urlencoded' } })
    t.equal(login.statusCode, 200, `every instance logs the administrator in: ${login.body}`)
  }
})
