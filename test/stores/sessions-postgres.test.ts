import t from 'tap'
import { refreshTokenStoreContract } from './contract/sessions.js'
import { postgresSkip, testDatabase } from '../helpers/services.js'
import { sqlRefreshTokenStore } from '../../stores/index.js'

const skip = await postgresSkip()
t.test('PostgreSQL', { skip }, async (t) => {
  refreshTokenStoreContract(t, async (t, now) => sqlRefreshTokenStore(await testDatabase(t, 'postgres'), now))
})
