import { join } from 'node:path'
import { pathToFileURL } from 'node:url'

type Plugins = typeof import('../../plugins/index.js')
type Stores = typeof import('../../stores/index.js')

/**
 * The code under test. By default the source; with WARDEN_PACKAGE_DIR, the packed package as a
 * user installs it in a fresh project (the packaging test runs the user-app suites that way), so
 * the same assertions hold for what users get.
 */
const dir = process.env.WARDEN_PACKAGE_DIR
const entry = (path: string): string => pathToFileURL(join(dir!, 'node_modules/fastify-warden/dist', path)).href

export const plugins: Plugins = dir === undefined ? await import('../../plugins/index.js') : await import(entry('plugins/index.js'))
export const stores: Stores = dir === undefined ? await import('../../stores/index.js') : await import(entry('stores/index.js'))
