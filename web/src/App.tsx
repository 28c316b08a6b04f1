import { useEffect } from 'react'
import { FlowPage } from './pages/FlowPage'
import { FlowsPage } from './pages/FlowsPage'
import { JobPage } from './pages/JobPage'
import { JobsPage } from './pages/JobsPage'
import { Link, navigate, useLocation } from './router'
import { matchRoute, paths } from './routes'

function Redirect({ to }: { to: string }) {
  useEffect(() => navigate(to, { replace: true }), [to])
  return null
}

export function App() {
  const { pathname } = useLocation()
  const route = matchRoute(pathname)
  const section = route.name === 'flow' || route.name === 'flows' ? 'flows' : route.name === 'job' || route.name === 'jobs' ? 'jobs' : ''

  useEffect(() => {
    const title =
      route.name === 'flow'
        ? `Flow ${route.id}`
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
      <nav className="topbar">
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
      <main className="content">{page}</main>
    </div>
  )
}
