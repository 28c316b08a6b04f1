import { useEffect, useRef, useState } from 'react'
import { LiveSocket, type LiveMessage, type LiveState } from './live'

export interface UseLiveOptions {
  /** Called after the socket comes back from a drop (messages may have been missed meanwhile). */
  onReconnect?: () => void
  /** Called when the socket opens for the first time. */
  onLive?: () => void
}

/**
 * Keeps a live-only stream (no seq resume, e.g. `/api/ws/monitor`) open while
 * the component is mounted; null `path` means no socket. Answers its state.
 */
export function useLiveStream(
  path: string | null,
  onMessage: (msg: LiveMessage) => void,
  opts: UseLiveOptions = {},
): LiveState {
  const [state, setState] = useState<LiveState>(path ? 'connecting' : 'closed')
  const onMessageRef = useRef(onMessage)
  onMessageRef.current = onMessage
  const optsRef = useRef(opts)
  optsRef.current = opts

  useEffect(() => {
    if (!path) {
      setState('closed')
      return
    }
    let first = true
    const socket = new LiveSocket({
      path,
      resume: false,
      onMessage: (msg) => onMessageRef.current(msg),
      onState: (s, info) => {
        setState(s)
        if (s !== 'live') return
        if (info.reconnected) optsRef.current.onReconnect?.()
        else if (first) optsRef.current.onLive?.()
        first = false
      },
    })
    socket.start()
    return () => socket.close()
  }, [path])

  return state
}
