export type Route =
  | { name: 'root' }
  | { name: 'flows' }
  | { name: 'flow'; id: string }
  | { name: 'flowNew' }
  | { name: 'flowEdit'; id: string }
  | { name: 'jobs' }
  | { name: 'job'; id: string }
  | { name: 'notFound' }

function decode(segment: string): string | null {
  try {
    return decodeURIComponent(segment)
  } catch {
    return null
  }
}

/** Maps a pathname to a page. Trailing slashes are ignored. */
export function matchRoute(pathname: string): Route {
  const parts = pathname.split('/').filter((p) => p !== '')
  if (parts.length === 0) return { name: 'root' }
  const [head, id, ...rest] = parts
  if (head === 'flows' && id !== undefined && rest.length === 1 && rest[0] === 'edit') {
    const d = decode(id)
    return d ? { name: 'flowEdit', id: d } : { name: 'notFound' }
  }
  if (rest.length > 0) return { name: 'notFound' }
  if (head === 'flows') {
    if (id === undefined) return { name: 'flows' }
    if (id === 'new') return { name: 'flowNew' }
    const d = decode(id)
    return d ? { name: 'flow', id: d } : { name: 'notFound' }
  }
  if (head === 'jobs') {
    if (id === undefined) return { name: 'jobs' }
    const d = decode(id)
    return d ? { name: 'job', id: d } : { name: 'notFound' }
  }
  return { name: 'notFound' }
}

export const paths = {
  flows: () => '/flows',
  flow: (id: string, version?: number) => `/flows/${encodeURIComponent(id)}${version !== undefined ? `?version=${version}` : ''}`,
  flowNew: () => '/flows/new',
  flowEdit: (id: string) => `/flows/${encodeURIComponent(id)}/edit`,
  jobs: (q?: Record<string, string | number | undefined>) => {
    const s = new URLSearchParams()
    for (const [k, v] of Object.entries(q ?? {})) {
      if (v !== undefined && v !== '') s.set(k, String(v))
    }
    const qs = s.toString()
    return qs ? `/jobs?${qs}` : '/jobs'
  },
  job: (id: string) => `/jobs/${encodeURIComponent(id)}`,
}
