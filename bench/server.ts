import { benchApp, CONFIGS, type Config } from './apps.js'

// Started by bench/run.ts, one process per configuration: prints its port and credentials (a DPoP row's client key too).
const config = process.argv[2] as Config
if (!CONFIGS.includes(config)) throw new Error(`unknown configuration ${config}; one of ${CONFIGS.join(', ')}`)
const { app, headers, client } = await benchApp(config)
process.on('SIGINT', () => { void app.close().then(() => process.exit(0)) })
await app.listen({ host: '127.0.0.1', port: 0 })
const address = app.server.address()
process.stdout.write(JSON.stringify({ port: typeof address === 'object' && address !== null ? address.port : 0, headers, client }) + '\n')
