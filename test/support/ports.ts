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

/** True when nothing listens on 127.0.0.1:`port` (we can bind it). */
async function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer()
    server.unref()
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}

/**
 * `preferred` when it is free (a resumed sandbox keeps its ports, so its configuration stays valid), otherwise a new
 * free port: the caller reports the port it got, and the sandbox rewrites its configuration to match.
 */
export async function portOrFree(preferred?: number): Promise<number> {
  if (preferred && (await bindable(preferred))) return preferred
  return freePort()
}
