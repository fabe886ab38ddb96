/// <reference types="vitest/config" />
import { defineConfig, type ProxyOptions } from 'vite';
import react from '@vitejs/plugin-react';
import tailwindcss from '@tailwindcss/vite';

// The API the dev server forwards /api to (HTTP and WebSocket).
const api = process.env.SHADOWER_API ?? 'http://127.0.0.1:8080';
const proxy: Record<string, ProxyOptions> = {
  '/api': {
    target: api,
    ws: true,
    changeOrigin: true,
    // The server accepts WebSockets from its own origin only: present the
    // dev server's requests as coming from it.
    configure: (p) => p.on('proxyReqWs', (req) => req.setHeader('origin', api)),
  },
};

export default defineConfig({
  base: '',
  plugins: [react(), tailwindcss()],
  server: { proxy },
  preview: { proxy },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 800,
  },
  test: {
    environment: 'jsdom',
    globals: true,
    setupFiles: ['./src/test/setup.ts'],
    include: ['src/**/*.test.{ts,tsx}'],
    css: false,
  },
});
