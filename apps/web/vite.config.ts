import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

const fromRoot = (p: string) => fileURLToPath(new URL(`../../${p}`, import.meta.url));

// The workspace packages are compiled from source, so the dashboard needs no prebuild.
export default defineConfig({
  plugins: [react()],
  resolve: {
    alias: {
      '@tether/api-client': fromRoot('packages/api-client/src/index.ts'),
      '@tether/contracts': fromRoot('packages/contracts/src/index.ts'),
    },
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    // Charts and the map are split into their own chunks and loaded when a page needs them.
    // The alarms page is in the entry (~454 kB with search and teams): a lazy alarms chunk made
    // Rolldown move React into a chunk of its own, a second script on every first load (so did the
    // session importing the router: the invitation and password-reset pages are routed in app.tsx).
    chunkSizeWarningLimit: 470,
  },
  server: {
    // `npm run dev -w @tether/web` against a server on :8080.
    proxy: { '/api': { target: 'http://localhost:8080', ws: true } },
  },
});
