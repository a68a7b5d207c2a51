/**
 * The dashboard's Host and Origin checks (issue 19, finding 7): a request naming a foreign `Host` (DNS rebinding: a
 * page on attacker.example whose name now resolves to 127.0.0.1) gets 421 on every route, `/api/history` included; a
 * cross-site `Origin` gets 403; the page's own origin, loopback names and configured allow-lists pass. A real
 * `MonitorServer` on 127.0.0.1:0 with a published step.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { MonitorServer } from '../../src/dashboard/index.js';
import { isVrGrpoError } from '../../src/errors/index.js';
import { request } from './helpers.js';

const runDir = mkdtempSync(join(tmpdir(), 'vr-grpo-host-check-'));
const servers: MonitorServer[] = [];

async function start(options: Parameters<typeof MonitorServer.start>[0] = {}): Promise<MonitorServer> {
  const server = await MonitorServer.start({ port: 0, runDir, heartbeatIntervalMs: 0, ...options });
  servers.push(server);
  server.publishStep({ step: 1, reward: 0.5 });
  return server;
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});
afterAll(() => rmSync(runDir, { recursive: true, force: true }));

describe('dashboard Host check', () => {
  it('refuses a foreign Host with 421 on every route; the history stays unread', async () => {
    const server = await start();
    for (const route of ['/api/history', '/', '/healthz', '/feed', '/static/app.js', '/runs/videos/x.mp4']) {
      const reply = await request(server.url, route, { headers: { host: `attacker.example:${server.port}` } });
      expect(reply.status, route).toBe(421);
      expect(reply.body.toString('utf8'), route).not.toContain('"steps"');
    }
  });

  it('answers loopback names and the bound host', async () => {
    const server = await start();
    for (const host of [`127.0.0.1:${server.port}`, `localhost:${server.port}`, `LOCALHOST:${server.port}`, `[::1]:${server.port}`, '127.0.0.1']) {
      const reply = await request(server.url, '/api/history', { headers: { host } });
      expect(reply.status, host).toBe(200);
      expect(reply.body.toString('utf8')).toContain('"step":1');
    }
  });

  it('takes an allow-list: only its names are answered ("*" answers any)', async () => {
    const server = await start({ allowedHosts: ['dash.internal'] });
    expect((await request(server.url, '/api/history', { headers: { host: 'dash.internal:8080' } })).status).toBe(200);
    expect((await request(server.url, '/api/history', { headers: { host: `localhost:${server.port}` } })).status).toBe(421);
    const open = await start({ allowedHosts: ['*'] });
    expect((await request(open.url, '/api/history', { headers: { host: 'anything.example' } })).status).toBe(200);
  });

  it('refuses a malformed allow-list at start with INVALID_ARGUMENT naming the field', async () => {
    let caught: unknown = null;
    try {
      await start({ allowedHosts: [''] });
    } catch (error) {
      caught = error;
    }
    expect(isVrGrpoError(caught, 'INVALID_ARGUMENT')).toBe(true);
    expect(isVrGrpoError(caught) ? String(caught.details.field) : '').toMatch(/^allowedHosts/);
  });
});

describe('dashboard Origin check', () => {
  it("refuses a cross-site Origin with 403; the page's own origin, none, or an allowed one pass", async () => {
    const server = await start({ allowedOrigins: ['http://grafana.local:3000'] });
    const own = `http://127.0.0.1:${server.port}`;
    expect((await request(server.url, '/api/history', { headers: { origin: 'http://evil.example' } })).status).toBe(403);
    expect((await request(server.url, '/feed', { headers: { origin: `http://localhost:${server.port}` } })).status).toBe(403);
    expect((await request(server.url, '/api/history', { headers: { origin: own } })).status).toBe(200);
    expect((await request(server.url, '/api/history')).status).toBe(200);
    expect((await request(server.url, '/api/history', { headers: { origin: 'http://grafana.local:3000' } })).status).toBe(200);
  });
});
