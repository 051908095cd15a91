import { createServer, type Server } from 'node:net';

/**
 * Ports free now, all different: each is held until all are found. Taken one after another (listen, close, listen
 * again), the system may hand out the same port twice; blob and table then raced for it, and the blob seeding went
 * to the table service ("The specified resource name contains invalid characters").
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<Server>((resolve, reject) => {
          const server = createServer();
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((server) => (server.address() as { port: number }).port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}
