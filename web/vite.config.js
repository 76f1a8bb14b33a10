// The console is served by `rapport serve` at / with its files under /assets/; relative
// URLs keep it working behind a path prefix too.
import { defineConfig } from 'vite';

export default defineConfig({
  base: './',
  build: {
    target: 'es2020',
    assetsDir: 'assets',
    chunkSizeWarningLimit: 200,
  },
  server: {
    // `npm run dev` against a local `rapport serve` on 8080.
    proxy: { '/v1': 'http://127.0.0.1:8080', '/health': 'http://127.0.0.1:8080' },
  },
});
