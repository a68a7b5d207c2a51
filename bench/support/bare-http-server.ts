/**
 * The transport benchmark's baseline: a bare node:http JSON endpoint doing the reward server's work with a null
 * judge — parse the request, check its fields, decode the inline video (base64 RGB24), read every frame, answer a
 * verdict as JSON. `node bin/run-ts.js bench/support/bare-http-server.ts` prints `listening http://HOST:PORT`.
 */
import http from 'node:http';

interface Request {
  readonly id: string;
  readonly prompt: string;
  readonly mode: string;
  readonly video: { readonly width: number; readonly height: number; readonly frameCount: number; readonly fps: number; readonly data: string };
}

function parse(body: string): Request | null {
  const raw: unknown = JSON.parse(body);
  if (raw === null || typeof raw !== 'object') return null;
  const r = raw as Partial<Request>;
  const v = r.video;
  if (typeof r.id !== 'string' || typeof r.prompt !== 'string' || typeof r.mode !== 'string' || v === undefined || typeof v.data !== 'string') return null;
  return r as Request;
}

const server = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    let request: Request | null;
    try {
      request = parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      request = null;
    }
    if (request === null) {
      res.writeHead(400, { 'content-type': 'application/json' }).end('{"type":"error","code":"INVALID_REQUEST"}');
      return;
    }
    const bytes = Buffer.from(request.video.data, 'base64');
    const frameBytes = request.video.width * request.video.height * 3;
    let sum = 0;
    for (let f = 0; f < request.video.frameCount; f++) sum += bytes[f * frameBytes] ?? 0;
    const frames = Array.from({ length: request.video.frameCount }, (_, i) => i + 1);
    const verdict = {
      type: 'verdict',
      id: request.id,
      rmVersion: 'fixed-0ms',
      mode: request.mode,
      answer: null,
      scores: [{ TA: 0.5, MQ: 0.5, VQ: 0.5, overall: 0.5 }],
      framesViewed: [frames],
      toolCalls: 0,
      hallucinations: [],
      checksum: sum,
    };
    const text = JSON.stringify(verdict);
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) }).end(text);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  const port = address !== null && typeof address === 'object' ? address.port : 0;
  process.stdout.write(`listening http://127.0.0.1:${port}\n`);
});
process.once('SIGTERM', () => server.close(() => process.exit(0)));
