import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { agreedLeader, get, processScope, put, startCluster } from '../support/harness.ts';

/** `fetch` over node:https trusting only `ca`, since this process's global fetch cannot be given a CA. */
function fetchTrusting(ca: string): typeof fetch {
  return ((input: string | URL, init: RequestInit = {}) =>
    new Promise<Response>((resolve, reject) => {
      const headers = Object.fromEntries(new Headers(init.headers).entries());
      const req = request(new URL(String(input)), { method: init.method ?? 'GET', headers, ca }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const responseHeaders = new Headers();
          for (const [name, value] of Object.entries(res.headers)) {
            if (value !== undefined)
              responseHeaders.set(name, Array.isArray(value) ? value.join(', ') : value);
          }
          resolve(
            new Response(Buffer.concat(chunks), { status: res.statusCode ?? 500, headers: responseHeaders }),
          );
        });
      });
      req.on('error', reject);
      if (typeof init.body === 'string') req.write(init.body);
      req.end();
    })) as typeof fetch;
}

/**
 * A throwaway CA and a server certificate for 127.0.0.1 signed by it. Not one self-signed
 * certificate: Deno's TLS stack (rustls) refuses a CA certificate used as the server's own.
 */
function makeCertificates(dir: string): { ca: string; cert: string; key: string } {
  const path = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'ignore' });
  openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=raftkit e2e CA',
    '-keyout',
    path('ca.key'),
    '-out',
    path('ca.pem'),
  );
  openssl(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-subj',
    '/CN=127.0.0.1',
    '-keyout',
    path('key.pem'),
    '-out',
    path('server.csr'),
  );
  writeFileSync(
    path('server.ext'),
    'subjectAltName=IP:127.0.0.1\nbasicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\n',
  );
  openssl(
    'x509',
    '-req',
    '-in',
    path('server.csr'),
    '-CA',
    path('ca.pem'),
    '-CAkey',
    path('ca.key'),
    '-CAcreateserial',
    '-days',
    '1',
    '-extfile',
    path('server.ext'),
    '-out',
    path('cert.pem'),
  );
  return { ca: path('ca.pem'), cert: path('cert.pem'), key: path('key.pem') };
}

/** TLS for client and peer traffic, with certificates the test makes (a private CA). */
describe('TLS', () => {
  const scope = processScope();
  afterAll(() => scope.cleanup());

  it('serves clients and peers over HTTPS on every runtime', async () => {
    const { ca, cert, key } = makeCertificates(await scope.tempDir('tls'));
    const tlsFetch = fetchTrusting(readFileSync(ca, 'utf8'));

    const nodes = await startCluster(scope, {
      name: 'tls',
      runtimes: ['node', 'bun', 'deno'],
      scheme: 'https',
      args: ['--tls-cert', cert, '--tls-key', key],
      // How each runtime's fetch learns to trust the peers' certificate.
      env: { NODE_EXTRA_CA_CERTS: ca, DENO_CERT: ca },
      fetch: tlsFetch,
    });
    const leader = await agreedLeader(nodes, tlsFetch);
    for (const node of nodes) await put(node, `via-${node.spec.id}`, node.spec.runtime, tlsFetch);
    for (const node of nodes) {
      for (const writer of nodes)
        expect(await get(node, `via-${writer.spec.id}`, 'linearizable', tlsFetch)).toBe(writer.spec.runtime);
    }
    await expect(fetch(`${leader.url}/health`)).rejects.toThrow();
    await expect(fetch(`http://127.0.0.1:${leader.spec.port}/health`)).rejects.toThrow();
  });
});
