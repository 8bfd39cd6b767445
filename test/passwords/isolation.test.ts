import t from 'tap'
import { spawn } from 'node:child_process'
import bcrypt from 'bcryptjs'
import { createPasswordHasher } from '../../plugins/index.js'
import { childProcesses, niceValues, schedulingPolicies } from '../helpers/processes.js'

const cheap = { memoryCost: 1024, timeCost: 1 }
const SCHED_OTHER = 0
const SCHED_IDLE = 5

t.test('isolate: hashes are computed in a child process whose threads all run in the idle scheduling class', async (t) => {
  const hasher = createPasswordHasher({ ...cheap, isolate: true })
  t.teardown(() => hasher.close())
  await hasher.hash('pw')
  const [child] = childProcesses()
  t.same(new Set(schedulingPolicies(child)), new Set([SCHED_IDLE]), 'SCHED_IDLE (util-linux chrt)')
  t.same(new Set(schedulingPolicies(process.pid)), new Set([SCHED_OTHER]), 'this process keeps its own')
  await hasher.close()
  t.same(childProcesses(), [])
})

t.test('isolate with a nice value: every thread of the hashing process at that value', async (t) => {
  const hasher = createPasswordHasher({ ...cheap, isolate: true, priority: 15 })
  t.teardown(() => hasher.close())
  t.same(childProcesses(), [], 'nothing started before the first hash')
  const hash = await hasher.hash('correct horse')
  const [child] = childProcesses()
  t.ok(child, 'a hashing process')
  t.same(new Set(niceValues(child)), new Set([15]))
  t.same(new Set(schedulingPolicies(child)), new Set([SCHED_OTHER]))
  t.match(hash, /^\$argon2id\$v=19\$m=1024,t=1,p=1\$/)
  t.equal(await hasher.verify(hash, 'correct horse'), true)
  t.equal(await hasher.verify(hash, 'wrong horse'), false)
  t.equal(await hasher.verify(undefined, 'correct horse'), false, 'an unknown user checks a dummy hash')
  t.equal(await hasher.verify('$argon2id$v=19$garbage', 'correct horse'), false, 'a malformed hash verifies nothing')
  t.equal(await hasher.verify(await bcrypt.hash('legacy pw', 4), 'legacy pw'), true, 'bcrypt hashes verify there too')
  t.equal(await createPasswordHasher(cheap).verify(hash, 'correct horse'), true, 'the hashes are the same as in-process ones')
  t.same(childProcesses(), [child], 'one process for every check')
})

t.test('a hashing process that dies fails the checks it held with a 503 error, and the next check starts another', async (t) => {
  const hasher = createPasswordHasher({ memoryCost: 65_536, timeCost: 3, isolate: true })
  t.teardown(() => hasher.close())
  const hash = await hasher.hash('pw')
  const [first] = childProcesses()
  const pending = hasher.verify(hash, 'pw')
  const unknownUser = hasher.verify(undefined, 'pw')
  process.kill(first, 'SIGKILL')
  await t.rejects(pending, { code: 'WARDEN_ERR_HASHING', statusCode: 503, message: /ended \(SIGKILL\)/ })
  await t.rejects(unknownUser, { code: 'WARDEN_ERR_HASHING' }, 'the dummy hash being made fails too')
  t.same(hasher.load(), { running: 0, queued: 0 }, 'its slot is given back')
  t.equal(await hasher.verify(hash, 'pw'), true)
  t.equal(await hasher.verify(undefined, 'pw'), false, 'the dummy hash is made again, not kept failed')
  const [second] = childProcesses()
  t.ok(second !== undefined && second !== first, 'a new hashing process')
})

t.test('close() ends the hashing process; a process that never closes its hasher still exits', async (t) => {
  const hasher = createPasswordHasher({ ...cheap, isolate: true })
  await hasher.hash('pw')
  t.equal(childProcesses().length, 1)
  await hasher.close()
  t.same(childProcesses(), [])
  await hasher.close()

  const program = `import { createPasswordHasher } from ${JSON.stringify(new URL('../../plugins/index.ts', import.meta.url).href)}
const hasher = createPasswordHasher({ memoryCost: 1024, timeCost: 1, isolate: true })
console.log(await hasher.verify(await hasher.hash('pw'), 'pw'))`
  // The program's coverage is left out: tsx's transform makes it unreliable (everything it loads shows as uncovered).
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), '--input-type=module', '-e', program], {
    env: { ...process.env, _TAPJS_PROCESSINFO_COV_EXCLUDE_: '/./' },
    stdio: ['ignore', 'pipe', 'inherit']
  })
  let out = ''
  child.stdout.on('data', (chunk: Buffer) => { out += chunk.toString() })
  const timer = setTimeout(() => { child.kill() }, 20_000)
  const code = await new Promise((resolve) => child.on('exit', resolve))
  clearTimeout(timer)
  t.equal(out.trim(), 'true', 'its checks are answered while it waits for them')
  t.equal(code, 0, 'and it exits on its own once nothing is asked of the hashing process')
})

t.test('isolate and priority are checked at creation', async (t) => {
  t.throws(() => createPasswordHasher({ isolate: 'yes' as unknown as boolean }), { code: 'WARDEN_ERR_OPTION', message: /option 'isolate'/ })
  t.throws(() => createPasswordHasher({ isolate: true, priority: 20 }), { code: 'WARDEN_ERR_OPTION', message: /option 'priority' must be 'idle' or a nice value/ })
  t.throws(() => createPasswordHasher({ isolate: true, priority: 'low' as 'idle' }), { code: 'WARDEN_ERR_OPTION', message: /option 'priority'/ })
  t.throws(() => createPasswordHasher({ priority: 10 }), { code: 'WARDEN_ERR_OPTION', message: /option 'priority' applies only with isolate: true/ })
})
