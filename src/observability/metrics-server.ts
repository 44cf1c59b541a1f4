import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry, RegistryContentType } from 'prom-client';

export interface MetricsServer {
  /** `http://host:port/metrics`, with the port the server listens on (useful with port 0). */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Serves `registry` at GET /metrics and a readiness probe at GET /healthz (200 while `ready()` says so, else
 * 503), on `host` (default all interfaces) and `port` (0: any free port).
 */
export async function serveMetrics(
  registry: Registry<RegistryContentType>,
  options: { port: number; host?: string; ready?: () => boolean },
): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
    } else if (path === '/metrics') {
      registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
        (err: Error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${err.message}\n`),
      );
    } else if (path === '/healthz') {
      const ok = options.ready?.() ?? true;
      res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' }).end(ok ? 'ok\n' : 'stopping\n');
    } else {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics\n');
    }
  });
  server.on('error', () => {}); // a failed listen rejects below; later socket errors concern one request
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host =
    !options.host || options.host === '0.0.0.0' || options.host === '::' ? '127.0.0.1' : options.host;
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}/metrics`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
