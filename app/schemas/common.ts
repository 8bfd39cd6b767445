import { Type, type TSchema, type TUnsafe } from '@sinclair/typebox'

export const Uuid = Type.String({ format: 'uuid', maxLength: 36, description: 'Identifier (UUID)' })

export const IdParams = Type.Object({ id: Uuid }, { additionalProperties: false })

export const Timestamp = Type.String({ format: 'date-time', maxLength: 40 })

/** The RFC 9457 body every error reply carries (registered by the core as `Problem`). */
export const ProblemRef = Type.Unsafe<{ type: string, title: string, status: number, detail: string }>(Type.Ref('Problem'))

/** A reference to the core's problem schema with a description of when it happens. */
export function problemResponse (description: string): TSchema {
  return { description, content: { 'application/problem+json': { schema: ProblemRef } } } as unknown as TSchema
}

/** A string enum as JSON Schema `enum` (one clear error, "must be equal to one of the allowed values"). */
export function StringEnum<const T extends readonly string[]> (values: T, options: { description?: string } = {}): TUnsafe<T[number]> {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...options })
}
