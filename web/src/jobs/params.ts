export type ParamsResult =
  | { ok: true; value: Record<string, unknown> | undefined }
  | { ok: false; error: string }

/**
 * Validates the "Start job" params textarea. Empty input means no params; anything
 * else must be a JSON object (the input routine emits it as the job's data).
 */
export function parseParams(text: string): ParamsResult {
  if (text.trim() === '') return { ok: true, value: undefined }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err)
    return { ok: false, error: `Invalid JSON: ${msg}` }
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    const kind = value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`
    return { ok: false, error: `Params must be a JSON object, not ${kind}` }
  }
  return { ok: true, value: value as Record<string, unknown> }
}
