import { Type, type TString, type TRecord } from '@sinclair/typebox'
import sanitizeHtml from 'sanitize-html'
import type { Ajv } from 'ajv'

/**
 * TypeBox building blocks for your own routes — the Pydantic validators of the FastAPI guides,
 * as schemas Fastify enforces and @fastify/swagger documents. Register the keywords they use:
 *
 * @example
 * const app = Fastify({ ajv: { plugins: [inputKeywords] } })
 */

/** Text without control characters other than tab, newline and carriage return (NUL included). */
export const NO_CONTROL = '^[^\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F]*$'

/** `^[A-Za-z0-9_-]+$`, 1 to `maxLength` (64) characters: ids, slugs, names of things. */
export function Identifier (options: { maxLength?: number, description?: string } = {}): TString {
  return Type.String({ pattern: '^[A-Za-z0-9_-]+$', minLength: 1, maxLength: options.maxLength ?? 64, ...(options.description === undefined ? {} : { description: options.description }) })
}

/**
 * Free text: no NUL or other control bytes, trimmed, bounded in characters and in UTF-8 bytes
 * (a character can take 4 bytes, so both matter for storage).
 */
export function SafeText (options: { maxLength: number, maxBytes?: number, minLength?: number, description?: string }): TString {
  return Type.String({
    pattern: NO_CONTROL,
    minLength: options.minLength ?? 0,
    maxLength: options.maxLength,
    'x-max-bytes': options.maxBytes ?? options.maxLength * 4,
    'x-trim': true,
    ...(options.description === undefined ? {} : { description: options.description })
  })
}

/** An object of strings: at most `maxKeys` keys, each key and value bounded, no control bytes. */
export function StringMap (options: { maxKeys: number, maxKeyLength?: number, maxValueLength: number }): TRecord<TString, TString> {
  return Type.Record(Type.String(), Type.String({ maxLength: options.maxValueLength, pattern: NO_CONTROL }), {
    maxProperties: options.maxKeys,
    propertyNames: { maxLength: options.maxKeyLength ?? 64, pattern: NO_CONTROL }
  }) as TRecord<TString, TString>
}

/** An email address, lower-cased before it reaches the handler (so one address is one account). */
export function NormalizedEmail (): TString {
  return Type.String({ format: 'email', maxLength: 254, 'x-lowercase': true })
}

/** Options of the HTML sanitiser: formatting tags, `https` links only, nothing that runs. */
export const RICH_TEXT_POLICY: sanitizeHtml.IOptions = {
  allowedTags: ['p', 'br', 'b', 'i', 'em', 'strong', 'u', 's', 'code', 'pre', 'blockquote', 'ul', 'ol', 'li', 'a', 'h3', 'h4'],
  allowedAttributes: { a: ['href', 'title', 'rel'] },
  allowedSchemes: ['https'],
  allowedSchemesAppliedToAttributes: ['href'],
  allowProtocolRelative: false,
  disallowedTagsMode: 'discard',
  transformTags: { a: sanitizeHtml.simpleTransform('a', { rel: 'noopener noreferrer nofollow' }) }
}

/** Clean rich text with RICH_TEXT_POLICY (sanitize-html). */
export function sanitizeRichText (html: string): string {
  return sanitizeHtml(html, RICH_TEXT_POLICY)
}

/** Rich text that reaches the handler already sanitised (see `sanitizeRichText`). */
export function RichText (options: { maxLength: number }): TString {
  return Type.String({ maxLength: options.maxLength, pattern: '^[^\\u0000]*$', 'x-sanitize-html': true })
}

/**
 * The keywords the building blocks use, for Fastify's `ajv.plugins`: `x-trim`, `x-lowercase`
 * and `x-sanitize-html` rewrite the value, `x-max-bytes` bounds its UTF-8 length.
 */
export function inputKeywords (ajv: Ajv): Ajv {
  const rewrite = (keyword: string, change: (value: string) => string): void => {
    ajv.addKeyword({
      keyword,
      type: 'string',
      modifying: true,
      schemaType: 'boolean',
      compile: (enabled: boolean) => (data: string, context?: { parentData?: Record<string | number, unknown>, parentDataProperty?: string | number }) => {
        if (enabled && context?.parentData !== undefined && context.parentDataProperty !== undefined) {
          context.parentData[context.parentDataProperty] = change(data)
        }
        return true
      }
    })
  }
  rewrite('x-trim', (value) => value.trim())
  rewrite('x-lowercase', (value) => value.toLowerCase())
  rewrite('x-sanitize-html', sanitizeRichText)
  ajv.addKeyword({
    keyword: 'x-max-bytes',
    type: 'string',
    schemaType: 'number',
    error: { message: (context: { schema: unknown }) => `must NOT be longer than ${String(context.schema)} bytes in UTF-8` },
    validate: (limit: number, data: string) => Buffer.byteLength(data, 'utf8') <= limit
  })
  return ajv
}

