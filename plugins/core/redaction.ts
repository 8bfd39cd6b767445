/**
 * What must never reach a log line, and the pino serializers that keep it out. Credentials are
 * recognised by their name (compared without case or separators: `X-API-Key`, `api_key` and
 * `apiKey` are one name) and by their shape, whatever they are called: our API keys (`wdn_…`) and
 * refresh tokens (`wdr_…`), JWTs, `Basic`/`Bearer`/`DPoP` credentials. A log loses a little to
 * a false alarm; it never keeps a secret.
 */

/**
 * Paths pino must censor in every log line: credentials in headers and secrets in bodies.
 * Pass it as `logger: { redact: { paths: REDACT_PATHS, censor: '[redacted]' } }`.
 */
export const REDACT_PATHS: readonly string[] = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'req.headers["proxy-authorization"]',
  'res.headers["set-cookie"]',
  '*.password',
  '*.new_password',
  '*.current_password',
  '*.client_secret',
  '*.access_token',
  '*.refresh_token',
  '*.token',
  '*.key',
  '*.authorization',
  '*["x-api-key"]'
]

const REDACTED = '[redacted]'
/** Names that are credentials on their own, once lower-cased and stripped of separators (`key`, `auth`, `jwt` are found by the rules below). */
const CREDENTIAL_NAMES: ReadonlySet<string> = new Set(['code', 'pw', 'pwd', 'sig', 'otp', 'pin'])
/** Words that make a name a credential's wherever they stand in it (`accessToken`, `client_secret`, `passphrase`). */
const CREDENTIAL_WORDS: readonly string[] = [
  'token',
  'secret',
  'pass',
  'apikey',
  'auth',
  'jwt',
  'credential',
  'session',
  'signature',
  'assertion',
  'cookie',
  'bearer'
]
/** A credential by its shape, anywhere in a text. */
const CREDENTIAL_SHAPE = /wdn_[A-Za-z0-9]|wdr_[\w-]|eyJ[\w-]+\.|\b(?:bearer|basic|dpop)\s+\S/i
/** What a text must hold for the shape to be looked for at all (most URLs hold none of it). */
const MAYBE = /wdn_|wdr_|eyj|bearer|basic|dpop|%/i

function decoded (text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '))
  } catch {
    return text
  }
}

function isCredentialName (name: string): boolean {
  const plain = decoded(name)
    .toLowerCase()
    .replace(/[^a-z0-9]/g, '')
  return CREDENTIAL_NAMES.has(plain) || plain.endsWith('key') || CREDENTIAL_WORDS.some((word) => plain.includes(word))
}

const hasCredentialShape = (text: string): boolean => MAYBE.test(text) && CREDENTIAL_SHAPE.test(decoded(text))

/**
 * `name=value` pairs (split at `&` and `;`, which are kept and pass unchanged): the value redacted
 * by the name or the shape; a bare word of a credential's shape redacted whole.
 */
function redactPairs (text: string): string {
  return text
    .split(/([&;])/)
    .map((pair) => {
      const eq = pair.indexOf('=')
      if (eq === -1) return hasCredentialShape(pair) ? REDACTED : pair
      const name = pair.slice(0, eq)
      // A credential sent as the name (`?eyJ…=1`) goes whole.
      if (hasCredentialShape(name)) return REDACTED
      // Stryker disable next-line ArithmeticOperator: equivalent, the `=` between ends every shape
      return isCredentialName(name) || hasCredentialShape(pair.slice(eq + 1)) ? `${name}=${REDACTED}` : pair
    })
    .join('')
}

/**
 * A URL (or request target) fit for a log line: user information of an absolute URL, query and
 * fragment parameters that carry credentials (by name or by shape), and path segments of a
 * credential's shape are `[redacted]`.
 */
export function redactUrl (url: string): string {
  const split = url.search(/[?#]/)
  let path = split === -1 ? url : url.slice(0, split)
  // http://user:password@host/…: the user information goes whatever it says, in a URL inside the path too.
  path = path.replace(/:\/\/[^/?#]*@/g, `://${REDACTED}@`)
  // Stryker disable next-line ConditionalExpression: equivalent, the test only spares splitting paths that hold no shape
  if (MAYBE.test(path)) {
    path = path
      .split('/')
      .map((segment) => (hasCredentialShape(segment) ? REDACTED : segment))
      .join('/')
  }
  if (split === -1) return path
  // `?` and `#` are kept by the split and pass redactPairs unchanged.
  return (
    path +
    url
      .slice(split)
      .split(/([?#])/)
      .map(redactPairs)
      .join('')
  )
}

/** Headers fit for a log line: credentials by name censored, URLs (`Referer`) redacted, any other value of a credential's shape censored. */
export function redactHeaders (headers: Record<string, string | string[] | undefined>): Record<string, string | string[] | undefined> {
  const out: Record<string, string | string[] | undefined> = {}
  for (const [name, value] of Object.entries(headers)) {
    const one = (v: string): string =>
      isCredentialName(name) ? REDACTED : /^[a-z][a-z0-9+.-]*:\/\/|^\//i.test(v) ? redactUrl(v) : hasCredentialShape(v) ? REDACTED : v
    out[name] = value === undefined ? value : Array.isArray(value) ? value.map(one) : one(value)
  }
  return out
}

/**
 * pino serializers for Fastify's request log lines, as Fastify's own but with credentials in the
 * URL redacted (`/users/me?access_token=[redacted]`). Use with `REDACT_PATHS`; to log headers
 * too, log `redactHeaders(request.headers)`:
 *
 * @example
 * Fastify({ logger: { serializers: logSerializers, redact: { paths: [...REDACT_PATHS], censor: '[redacted]' } } })
 */
export const logSerializers = {
  req (request: { method: string; url: string; host?: string; ip?: string; socket?: { remotePort?: number } }): Record<string, unknown> {
    return { method: request.method, url: redactUrl(request.url), host: request.host, remoteAddress: request.ip, remotePort: request.socket?.remotePort }
  }
}
