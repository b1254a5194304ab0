/**
 * Certificates and keys for the test control plane, made with the system's openssl: a CA, the API server's serving
 * certificate for 127.0.0.1/localhost, and the service-account signing key pair (so TokenRequest tokens verify).
 */
import {execFileSync} from 'node:child_process'
import {writeFileSync} from 'node:fs'
import path from 'node:path'

export interface KubeCerts {
  caCert: string
  caKey: string
  saKey: string
  saPub: string
  serverCert: string
  serverKey: string
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, {cwd, stdio: ['ignore', 'ignore', 'pipe']})
}

export function makeCerts(dir: string): KubeCerts {
  const f = (name: string) => path.join(dir, name)
  openssl(['genrsa', '-out', f('ca.key'), '2048'], dir)
  openssl(
    ['req', '-x509', '-new', '-key', f('ca.key'), '-subj', '/CN=drc-test-ca', '-days', '3650', '-out', f('ca.crt')],
    dir,
  )
  openssl(['genrsa', '-out', f('apiserver.key'), '2048'], dir)
  openssl(['req', '-new', '-key', f('apiserver.key'), '-subj', '/CN=kube-apiserver', '-out', f('apiserver.csr')], dir)
  writeFileSync(
    f('apiserver.ext'),
    'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes.default.svc\nextendedKeyUsage=serverAuth\n',
  )
  openssl(
    [
      'x509',
      '-req',
      '-in',
      f('apiserver.csr'),
      '-CA',
      f('ca.crt'),
      '-CAkey',
      f('ca.key'),
      '-CAcreateserial',
      '-days',
      '3650',
      '-extfile',
      f('apiserver.ext'),
      '-out',
      f('apiserver.crt'),
    ],
    dir,
  )
  openssl(['genrsa', '-out', f('sa.key'), '2048'], dir)
  openssl(['rsa', '-in', f('sa.key'), '-pubout', '-out', f('sa.pub')], dir)
  return {
    caCert: f('ca.crt'),
    caKey: f('ca.key'),
    saKey: f('sa.key'),
    saPub: f('sa.pub'),
    serverCert: f('apiserver.crt'),
    serverKey: f('apiserver.key'),
  }
}
