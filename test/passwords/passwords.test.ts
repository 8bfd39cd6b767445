import t from 'tap'
import bcrypt from 'bcryptjs'
import { createPasswordHasher } from '../../plugins/index.js'

const fast = { memoryCost: 1024, timeCost: 1 }

t.test('production defaults are argon2id with OWASP parameters (m=19456, t=2, p=1)', async (t) => {
  const hasher = createPasswordHasher()
  const hash = await hasher.hash('correct horse battery staple')
  t.match(hash, /^\$argon2id\$v=19\$m=19456,t=2,p=1\$/)
  t.equal(await hasher.verify(hash, 'correct horse battery staple'), true)
  t.equal(await hasher.verify(hash, 'Correct horse battery staple'), false)
  t.equal(hasher.needsRehash(hash), false)
})

t.test('each hash is salted', async (t) => {
  const hasher = createPasswordHasher(fast)
  t.not(await hasher.hash('same password'), await hasher.hash('same password'))
})

t.test('a hash made with other parameters verifies and asks to be rehashed', async (t) => {
  const old = await createPasswordHasher(fast).hash('pw-123456789012')
  const current = createPasswordHasher({ memoryCost: 2048, timeCost: 1 })
  t.equal(await current.verify(old, 'pw-123456789012'), true)
  t.equal(await current.verify(old, 'wrong'), false)
  t.equal(current.needsRehash(old), true)
})

t.test('bcrypt hashes as passlib writes them verify and ask to be replaced by argon2id', async (t) => {
  const hasher = createPasswordHasher(fast)
  for (const prefix of ['$2b$', '$2a$', '$2y$']) {
    const hash = prefix + (await bcrypt.hash('legacy password', 4)).slice(4)
    t.equal(await hasher.verify(hash, 'legacy password'), true, prefix)
    t.equal(await hasher.verify(hash, 'legacy passwort'), false, prefix)
    t.equal(hasher.needsRehash(hash), true, prefix)
  }
})

t.test('no hash, an unknown format or a broken hash is a plain refusal', async (t) => {
  const hasher = createPasswordHasher(fast)
  for (const stored of [undefined, null, '', 'plaintext', '$argon2id$v=19$broken', '$1$md5crypt$abc']) {
    t.equal(await hasher.verify(stored, 'anything'), false, String(stored))
  }
})

t.test('verify() is a boolean, so `if (!await hasher.verify(...))` refuses a wrong password', async (t) => {
  // Regression: verify() returned { ok, needsRehash }, an always-truthy object, and this let every password in.
  const hasher = createPasswordHasher(fast)
  const hash = await hasher.hash('the right one')
  let admitted = false
  if (await hasher.verify(hash, 'a wrong one')) admitted = true
  t.equal(admitted, false)
})

t.test('parameters are validated', async (t) => {
  t.throws(() => createPasswordHasher({ memoryCost: 8 }), { code: 'WARDEN_ERR_OPTION', message: /option 'memoryCost'/ })
  t.throws(() => createPasswordHasher({ timeCost: 0 }), { code: 'WARDEN_ERR_OPTION', message: /option 'timeCost'/ })
  t.throws(() => createPasswordHasher({ parallelism: 1.5 }), { code: 'WARDEN_ERR_OPTION', message: /option 'parallelism'/ })
})
