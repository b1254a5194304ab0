import net from 'node:net'

/** Asks the kernel for a free TCP port on 127.0.0.1 (bind to 0, read it back, close). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.unref()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      if (address === null || typeof address === 'string') {
        server.close()
        reject(new Error('freePort: the kernel did not report a TCP port'))
        return
      }

      server.close(() => resolve(address.port))
    })
  })
}
