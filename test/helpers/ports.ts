import net from 'node:net';

/** A TCP port that was free a moment ago (the kernel picks it: listen on port 0, then close). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      if (address === null || typeof address === 'string') {
        srv.close();
        reject(new Error('could not read the port of a listening socket'));
        return;
      }
      srv.close(() => resolve(address.port));
    });
  });
}
