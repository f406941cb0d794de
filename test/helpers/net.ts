import * as net from 'node:net';

/** A TCP port free on 127.0.0.1 right now (the OS picks it), for a child process a test starts. */
export async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

async function listenable(port: number): Promise<boolean> {
  const srv = net.createServer();
  const ok = await new Promise<boolean>((resolve) => {
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => resolve(true));
  });
  if (ok) await new Promise((resolve) => srv.close(resolve));
  return ok;
}

/**
 * `span` consecutive ports free on 127.0.0.1 right now, below the OS's ephemeral range (32768-60999 here): a base port
 * whose neighbours a child derives (npm start puts learner instance i on metrics.port + 1 + i). freePort's OS-picked
 * port is in the ephemeral range, where the next port up can be any outgoing connection's local port at any moment
 * (the supervisor test once lost a learner instance to EADDRINUSE that way).
 */
export async function freePortSpan(span: number): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const base = 28000 + Math.floor(Math.random() * (4700 - span));
    let all = true;
    for (let i = 0; i < span && all; i++) all = await listenable(base + i);
    if (all) return base;
  }
  throw new Error(`no ${span} consecutive free ports in 28000-32700`);
}
