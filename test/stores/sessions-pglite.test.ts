import t from 'tap'
import { refreshTokenStoreContract } from './contract/sessions.js'
import { closeSharedDatabase, testDatabase } from '../helpers/services.js'
import { sqlRefreshTokenStore } from '../../stores/index.js'

t.teardown(closeSharedDatabase)
refreshTokenStoreContract(t, async (t, now) => sqlRefreshTokenStore(await testDatabase(t, 'pglite'), now))
