import { writeFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import react from '@vitejs/plugin-react'
import { defineConfig, type Plugin } from 'vitest/config'

const webDir = dirname(fileURLToPath(import.meta.url))
const outDir = resolve(webDir, 'dist')

// emptyOutDir wipes web/dist, but web/dist/.keep is tracked in git so that the Go
// embed (//go:embed all:web/dist) compiles before the UI is built. Put it back.
function keepFile(): Plugin {
  return {
    name: 'switchyard-keep-file',
    apply: 'build',
    closeBundle() {
      writeFileSync(resolve(outDir, '.keep'), '')
    },
  }
}

export default defineConfig({
  root: webDir,
  base: '/',
  plugins: [react(), keepFile()],
  build: {
    outDir,
    emptyOutDir: true,
    manifest: true,
    assetsDir: 'assets',
    sourcemap: false,
    target: 'es2022',
  },
  server: {
    port: 5173,
    proxy: {
      '/api': {
        target: 'http://127.0.0.1:20555',
        changeOrigin: false,
        ws: true,
      },
    },
  },
  test: {
    include: ['src/**/*.test.{ts,tsx}'],
    environment: 'node',
  },
})
