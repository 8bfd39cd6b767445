export { Identifier, SafeText, Integer, QueryInteger, Money, Timestamp, StringMap, NormalizedEmail, RichText, sanitizeRichText, RICH_TEXT_POLICY, inputKeywords, NO_CONTROL, PLAIN_TEXT } from './toolkit.js'
export { safePath, UnsafePathError } from './safe-path.js'
export { canonicalUsername } from '../plugins/core/username.js'
