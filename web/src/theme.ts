// Light and dark themes: the stored choice wins, else the system's prefers-color-scheme.
// The theme is the data-theme attribute of <html>; styles.css maps it to colours.

export type Theme = 'light' | 'dark'

export const THEME_KEY = 'switchyard.theme'

/** The theme to show: a valid stored choice, else the system preference. */
export function chooseTheme(stored: string | null | undefined, prefersDark: boolean): Theme {
  if (stored === 'light' || stored === 'dark') return stored
  return prefersDark ? 'dark' : 'light'
}

export function otherTheme(t: Theme): Theme {
  return t === 'dark' ? 'light' : 'dark'
}

function readStored(): string | null {
  try {
    return window.localStorage.getItem(THEME_KEY)
  } catch {
    return null
  }
}

function systemDark(): boolean {
  return typeof window.matchMedia === 'function' && window.matchMedia('(prefers-color-scheme: dark)').matches
}

export function currentTheme(): Theme {
  return chooseTheme(readStored(), systemDark())
}

export function applyTheme(t: Theme): void {
  document.documentElement.dataset.theme = t
  document.documentElement.style.colorScheme = t
}

/** Stores the operator's choice and applies it. */
export function setTheme(t: Theme): void {
  try {
    window.localStorage.setItem(THEME_KEY, t)
  } catch {
    // private mode: the choice lasts for this page only
  }
  applyTheme(t)
  window.dispatchEvent(new Event('switchyard:theme'))
}

/** Applies the theme now and follows the system while no choice is stored. */
export function initTheme(): void {
  applyTheme(currentTheme())
  if (typeof window.matchMedia !== 'function') return
  window.matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => {
    if (readStored() === null) {
      applyTheme(currentTheme())
      window.dispatchEvent(new Event('switchyard:theme'))
    }
  })
}

export function subscribeTheme(cb: () => void): () => void {
  window.addEventListener('switchyard:theme', cb)
  return () => window.removeEventListener('switchyard:theme', cb)
}
