import { lazy, Suspense, useEffect, useSyncExternalStore } from 'react'
import { FlowPage } from './flows/FlowPage'
import { FlowsPage } from './flows/FlowsPage'
import { JobPage } from './jobs/JobPage'
import { JobsPage } from './jobs/JobsPage'
import { Link, navigate, useLocation } from './router'
import { matchRoute, paths } from './routes'
import { currentTheme, otherTheme, setTheme, subscribeTheme } from './theme'

// The editor (CodeMirror) is loaded only when a flow is created or edited.
const FlowEditPage = lazy(() => import('./flows/FlowEditPage'))

function ThemeToggle() {
  const theme = useSyncExternalStore(subscribeTheme, currentTheme, currentTheme)
  const next = otherTheme(theme)
  return (
    <button
      type="button"
      className="theme-toggle"
      data-testid="theme-toggle"
      data-theme-current={theme}
      aria-label={`Switch to ${next} theme`}
      title={`Switch to ${next} theme`}
      onClick={() => setTheme(next)}
    >
      {theme === 'dark' ? '☀ Light' : '☾ Dark'}
    </button>
  )
}

function Redirect({ to }: { to: string }) {
  useEffect(() => navigate(to, { replace: true }), [to])
  return null
}

export function App() {
  const { pathname } = useLocation()
  const route = matchRoute(pathname)
  const section = route.name === 'flow' || route.name === 'flows' || route.name === 'flowNew' || route.name === 'flowEdit' ? 'flows' : route.name === 'job' || route.name === 'jobs' ? 'jobs' : ''

  useEffect(() => {
    const title =
      route.name === 'flow'
        ? `Flow ${route.id}`
        : route.name === 'flowEdit'
          ? `Edit ${route.id}`
          : route.name === 'flowNew'
            ? 'New flow'
        : route.name === 'job'
          ? `Job ${route.id}`
          : route.name === 'flows'
            ? 'Flows'
            : route.name === 'jobs'
              ? 'Jobs'
              : ''
    document.title = title ? `${title} · Switchyard` : 'Switchyard'
  }, [route.name, 'id' in route ? route.id : ''])

  let page
  switch (route.name) {
    case 'root':
      page = <Redirect to={paths.flows()} />
      break
    case 'flows':
      page = <FlowsPage />
      break
    case 'flow':
      page = <FlowPage key={route.id} id={route.id} />
      break
    case 'flowNew':
      page = <FlowEditPage key="new" />
      break
    case 'flowEdit':
      page = <FlowEditPage key={`edit:${route.id}`} id={route.id} />
      break
    case 'jobs':
      page = <JobsPage />
      break
    case 'job':
      page = <JobPage key={route.id} id={route.id} />
      break
    default:
      page = (
        <section>
          <h1>Not found</h1>
          <p>
            Nothing lives at <code>{pathname}</code>. Go to <Link to={paths.flows()}>flows</Link>.
          </p>
        </section>
      )
  }

  return (
    <div className="app">
      <header className="topbar">
        <nav className="topbar-nav" aria-label="Main">
          <Link to={paths.flows()} className="brand">
            Switchyard
          </Link>
          <Link to={paths.flows()} className={section === 'flows' ? 'active' : undefined}>
            Flows
          </Link>
          <Link to={paths.jobs()} className={section === 'jobs' ? 'active' : undefined}>
            Jobs
          </Link>
        </nav>
        <ThemeToggle />
      </header>
      <main className="content">
        <Suspense fallback={<p className="dim">Loading…</p>}>{page}</Suspense>
      </main>
    </div>
  )
}
