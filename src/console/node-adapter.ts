import type { IncomingMessage, ServerResponse } from 'node:http';

/** Node's request as Express and Fastify hand it on: Express adds originalUrl, and body once a parser ran. */
type NodeRequest = IncomingMessage & { originalUrl?: string; body?: unknown };

const MAX_BODY_BYTES = 1_000_000;

/**
 * Serves a Fetch-API handler from Node's http server, Express (`app.use('/walbox', …)`) or Fastify (the raw
 * request and response). With Express the full path (originalUrl) is passed on, so the console's basePath is
 * the mount path. A body that a body parser already read is re-encoded as the form it was. `next` gets the
 * errors of writing the response, when given; otherwise they end the response.
 */
export function toNodeHandler(handler: (request: Request) => Promise<Response>) {
  return (req: NodeRequest, res: ServerResponse, next?: (err?: unknown) => void): void => {
    serve(handler, req, res).catch((err: unknown) => {
      if (next) return next(err);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end('internal error');
    });
  };
}

async function serve(
  handler: (request: Request) => Promise<Response>,
  req: NodeRequest,
  res: ServerResponse,
): Promise<void> {
  const host = req.headers.host ?? 'localhost';
  const url = new URL(req.originalUrl ?? req.url ?? '/', `http://${host}`);
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    for (const v of Array.isArray(value) ? value : [value]) headers.append(name, v);
  }
  const method = req.method ?? 'GET';
  const body = method === 'GET' || method === 'HEAD' ? undefined : await readBody(req);
  if (body !== undefined) headers.delete('content-length');
  const response = await handler(new Request(url, { method, headers, body }));
  const out: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    out[name] = value;
  });
  const payload = method === 'HEAD' ? undefined : Buffer.from(await response.arrayBuffer());
  res.writeHead(response.status, out);
  res.end(payload);
}

/** The request body: from the stream, or from what Express's or Fastify's parser left in req.body. */
async function readBody(req: NodeRequest): Promise<string | Buffer> {
  if (typeof req.body === 'string' || Buffer.isBuffer(req.body)) return req.body;
  if (req.body !== null && typeof req.body === 'object' && (req.readableEnded || req.complete)) {
    const form = new URLSearchParams();
    for (const [k, v] of Object.entries(req.body as Record<string, unknown>)) {
      for (const item of Array.isArray(v) ? v : [v]) form.append(k, String(item));
    }
    return form.toString();
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new Error('request body too large');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}
