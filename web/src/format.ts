/** Compact one-line JSON for table cells; undefined/null show as an empty cell. */
export function compactJson(value: unknown, max = 200): string {
  if (value === undefined || value === null) return ''
  let s: string
  try {
    s = typeof value === 'string' ? JSON.stringify(value) : (JSON.stringify(value) ?? String(value))
  } catch {
    s = String(value)
  }
  return s.length > max ? s.slice(0, max - 1) + '…' : s
}

export function prettyJson(value: unknown): string {
  if (value === undefined) return ''
  try {
    return JSON.stringify(value, null, 2) ?? String(value)
  } catch {
    return String(value)
  }
}

/** Local date and time; empty for a missing or zero time. */
export function formatTime(iso: string | null | undefined): string {
  if (!iso || iso.startsWith('0001-01-01')) return ''
  const d = new Date(iso)
  if (Number.isNaN(d.getTime())) return iso
  const pad = (n: number, w = 2) => String(n).padStart(w, '0')
  return (
    `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
  )
}

/** Seconds (the API's `duration`) as "850 ms", "4.2 s", "3 m 05 s", "2 h 01 m". */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds) || seconds < 0) return ''
  if (seconds < 1) return `${Math.round(seconds * 1000)} ms`
  if (seconds < 60) return `${(Math.round(seconds * 10) / 10).toFixed(1)} s`
  const total = Math.floor(seconds)
  const h = Math.floor(total / 3600)
  const m = Math.floor((total % 3600) / 60)
  const s = total % 60
  if (h > 0) return `${h} h ${String(m).padStart(2, '0')} m`
  return `${m} m ${String(s).padStart(2, '0')} s`
}

/** Progress (0..1) as a whole percentage clamped to 0..100. */
export function percent(progress: number | null | undefined): number {
  if (progress === null || progress === undefined || !Number.isFinite(progress)) return 0
  return Math.max(0, Math.min(100, Math.round(progress * 100)))
}
