import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Route {
  status?: number;
  body?: string | Uint8Array;
  headers?: Record<string, string>;
  /** Send no content-length (the body goes chunked, its size unknown in advance). */
  noLength?: boolean;
  /** Never answer (for timeouts). */
  hang?: boolean;
}

export interface TestHttpServer {
  /** http://127.0.0.1:<port> */
  origin: string;
  /** Serves `body` (200) or a full route at a path (e.g. "/wf/main.cwl"); anything else is a 404. */
  set(path: string, route: string | Uint8Array | Route): void;
  /** Paths requested so far, in order. */
  readonly requests: string[];
  stop(): Promise<void>;
}

/** A tiny static HTTP server on 127.0.0.1 (free port) serving what the test puts there. */
export async function startHttpServer(): Promise<TestHttpServer> {
  const routes = new Map<string, Route>();
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    requests.push(path);
    const route = routes.get(path);
    if (!route) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    if (route.hang) return;
    const body = route.body ?? '';
    const length: Record<string, string> = route.noLength ? {} : { 'content-length': String(Buffer.byteLength(body)) };
    res.writeHead(route.status ?? 200, { 'content-type': 'application/octet-stream', ...length, ...route.headers });
    res.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    set(path, route) {
      routes.set(path, typeof route === 'string' || route instanceof Uint8Array ? { body: route } : route);
    },
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
