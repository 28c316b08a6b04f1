import { ApiError, errorMessage } from '../api/api'

/** A visible, announced error; renders nothing without an error. */
export function ErrorAlert({
  error,
  testId = 'error-alert',
  onDismiss,
}: {
  error: unknown
  testId?: string
  onDismiss?: () => void
}) {
  if (error === undefined || error === null || error === '') return null
  const code = error instanceof ApiError ? error.code : undefined
  return (
    <div className="alert" role="alert" data-testid={testId}>
      {code && <span className="alert-code">{code}</span>}
      <span className="alert-message" data-testid={`${testId}-message`}>
        {errorMessage(error)}
      </span>
      {onDismiss && (
        <button type="button" className="alert-dismiss" aria-label="Dismiss" onClick={onDismiss}>
          ×
        </button>
      )}
    </div>
  )
}
