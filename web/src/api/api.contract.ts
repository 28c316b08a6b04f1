// The UI's API types (api.ts) checked against the types generated from the
// server's OpenAPI document (api.generated.ts, `make api-types`): what the
// server sends must satisfy what the UI reads, so a change of the API that
// the UI has not followed fails the typecheck.
import type * as Sent from './api.generated'
import type * as Read from './api'
import type { JobEvent } from '../logs/timeline'

type Satisfies<S extends R, R> = S

export type ApiContract = [
  Satisfies<Sent.Job, Read.Job>,
  Satisfies<Sent.JobList, Read.JobList>,
  Satisfies<Sent.RoutineState, Read.RoutineState>,
  Satisfies<Sent.PausedAt, Read.PausedAt>,
  Satisfies<Sent.Breakpoint, Read.Breakpoint>,
  Satisfies<Sent.BreakpointList, Read.BreakpointList>,
  Satisfies<Sent.CallStack, Read.CallStack>,
  Satisfies<Sent.Variables, Read.Variables>,
  Satisfies<Sent.EvalResult, Read.EvalResult>,
  Satisfies<Sent.ExpressionCheck, Read.ExpressionCheck>,
  Satisfies<Sent.LogLine, Read.LogEntry>,
  Satisfies<Sent.ValidationResult, Read.Validation>,
  Satisfies<Sent.RoutineKind, Read.RoutineKind>,
  Satisfies<Sent.Flow, Read.Flow>,
  Satisfies<Sent.FlowList, Read.FlowList>,
  Satisfies<Sent.JobStateAt, Read.Job & { at?: number }>,
  Satisfies<Sent.Event, JobEvent>,
  Satisfies<Sent.ActivationList, Read.ActivationList>,
]
