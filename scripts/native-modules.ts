import argon2 from 'argon2'
import { PGlite } from '@electric-sql/pglite'

/**
 * The two dependencies that are not plain JavaScript, loaded and used once: argon2's prebuilt
 * Node-API binary and PGlite's WebAssembly build. A Node line they do not support fails here in a
 * second, before any test file starts.
 */
const hash = await argon2.hash('correct horse battery staple', { type: argon2.argon2id })
if (!(await argon2.verify(hash, 'correct horse battery staple')) || await argon2.verify(hash, 'wrong')) {
  throw new Error('argon2 verified the wrong password or refused the right one')
}
const db = new PGlite()
const { rows } = await db.query<{ sum: number }>('select 1 + 1 as sum')
await db.close()
if (rows[0]?.sum !== 2) throw new Error(`PGlite answered ${JSON.stringify(rows)}`)
console.log(`native modules load on Node ${process.version} (Node-API ${process.versions.napi}): argon2, PGlite`)
