import type {CoordinationV1Api, V1Lease} from '@kubernetes/client-node'

import {randomBytes} from 'node:crypto'
import os from 'node:os'

import {DrcError} from '../lib/errors.js'
import {ExitCode} from '../lib/exit-codes.js'
import {describeKubeError, kubeStatusCode} from './client.js'

/** Who holds a lease: unique per process and per acquisition, readable by an operator (`kubectl get lease -o yaml`). */
export function defaultHolderIdentity(): string {
  return `${os.hostname()}/pid-${process.pid}/${randomBytes(4).toString('hex')}`
}

export interface LeaseOptions {
  coordination: CoordinationV1Api
  /** Holder identity; default {@link defaultHolderIdentity}. */
  holder?: string
  /** How long the lease stays valid without renewal. */
  leaseDurationSeconds: number
  log?: (message: string) => void
  name: string
  namespace: string
  /** Clock, for tests. */
  now?: () => Date
  /** How often the lease is renewed while held (default a third of its duration). */
  renewIntervalMs?: number
  /**
   * Decides, on the freshly read lease, whether a live lease of another holder may be taken over anyway
   * (`drc registry lock --force`, or a holder whose process is known to be gone). Default: never.
   */
  takeOver?: (lease: V1Lease) => boolean
}

export interface HeldLease {
  readonly holder: string
  /** Set when a renewal found the lease taken by someone else or could not be written before it expired. */
  readonly lost: string | undefined
  readonly name: string
  readonly namespace: string
  /** The lease's {@link LEASE_NOTE} annotation as found when it was acquired (a previous holder's record). */
  readonly previousNote: string | undefined
  /** Stops renewing and clears the holder (optimistically, by resourceVersion). Idempotent. */
  release(): Promise<void>
  /** Sets (or without a value removes) the {@link LEASE_NOTE} annotation; it survives release(). */
  writeNote(value?: string): Promise<void>
}

/**
 * An annotation on the lease in which a holder records what it must undo (the registry's prior setting). It stays
 * after release when the holder could not undo it, so the next holder knows the true prior state.
 */
export const LEASE_NOTE = 'drc.dominodatalab.com/registry-prior-delete-env'

/** Lease times are MicroTime on the wire; client-node hands them back as strings or Dates. */
function timeOf(value: unknown): number | undefined {
  if (value === undefined || value === null) return undefined
  const t = new Date(value as Date | string).getTime()
  return Number.isNaN(t) ? undefined : t
}

/** When a held lease stops being valid (ms since epoch); undefined when nobody holds it. */
export function leaseExpiry(lease: V1Lease): number | undefined {
  const holder = lease.spec?.holderIdentity
  if (!holder) return undefined
  const renewed = timeOf(lease.spec?.renewTime) ?? timeOf(lease.spec?.acquireTime)
  // A holder without any time or duration never expires on its own: treat it as live and let the operator decide.
  if (renewed === undefined || lease.spec?.leaseDurationSeconds === undefined) return Number.POSITIVE_INFINITY
  return renewed + lease.spec.leaseDurationSeconds * 1000
}

async function microTime(date: Date): Promise<Date> {
  // The API server parses MicroTime with six fractional digits; a plain Date serialises three and is refused.
  const {V1MicroTime} = await import('@kubernetes/client-node')
  return new V1MicroTime(date.getTime())
}

interface LeaseRef {
  name: string
  namespace: string
  takeOver?: (lease: V1Lease) => boolean
}

/** The spec of a lease this holder takes: from scratch, or over a previous holder (counted as a transition). */
function takenSpec(existing: undefined | V1Lease, holder: string, stamp: Date, leaseDurationSeconds: number) {
  const previous = existing?.spec?.holderIdentity
  const transitions = existing?.spec?.leaseTransitions ?? 0
  return {
    ...existing?.spec,
    acquireTime: stamp,
    holderIdentity: holder,
    leaseDurationSeconds,
    leaseTransitions: previous && previous !== holder ? transitions + 1 : transitions,
    renewTime: stamp,
  }
}

/** Another live holder: refuse (exit code 3) and name it, so the operator knows which run to wait for. */
function refuseIfHeld(existing: V1Lease, holder: string, nowMs: number, {name, namespace, takeOver}: LeaseRef): void {
  const expiry = leaseExpiry(existing)
  const other = existing.spec?.holderIdentity
  if (expiry === undefined || expiry <= nowMs || other === holder || takeOver?.(existing)) return
  const until = Number.isFinite(expiry) ? new Date(expiry).toISOString() : 'it is released'
  throw new DrcError(
    `registry deletion is locked by another drc run: lease ${namespace}/${name} is held by ${other} until ${until}`,
    {
      exitCode: ExitCode.PREFLIGHT_REFUSED,
      suggestions: [
        'wait for the other run to finish (it re-locks the registry and releases the lease), then retry',
        // Deleting the lease would lose the prior registry setting recorded on it: never suggest that.
        `if that run is gone for good, \`drc registry lock --force\` takes its lease over and restores the registry setting it recorded (\`drc registry status\` shows both)`,
      ],
    },
  )
}

/** `host/pid-N/…` of {@link defaultHolderIdentity}, when it names a process on this host that no longer exists. */
export function holderProcessGone(holder: string | undefined, host = os.hostname()): boolean {
  const match = holder === undefined ? null : /^(.+)\/pid-(\d+)\/[\da-f]+$/.exec(holder)
  if (!match || match[1] !== host) return false
  const pid = Number(match[2])
  if (pid === process.pid) return false
  try {
    process.kill(pid, 0)
    return false
  } catch (error) {
    // EPERM: the process exists under another user. Only "no such process" proves the holder is gone.
    return (error as NodeJS.ErrnoException).code === 'ESRCH'
  }
}

/**
 * Takes the lease `namespace/name` for this process and keeps renewing it until released. Another live holder
 * refuses with exit code 3 naming it; an expired (or released) lease is taken over. Writes are optimistic
 * (resourceVersion): a 409 means someone else wrote in between, so the lease is re-read and the decision made
 * again, once.
 */
export async function acquireLease(opts: LeaseOptions): Promise<HeldLease> {
  const {coordination, leaseDurationSeconds, name, namespace} = opts
  const now = opts.now ?? (() => new Date())
  const holder = opts.holder ?? defaultHolderIdentity()
  const what = `lease ${namespace}/${name}`

  const fail = (action: string, error: unknown): DrcError => {
    const status = kubeStatusCode(error)
    return new DrcError(`cannot ${action} ${what}: ${describeKubeError(error)}`, {
      cause: error,
      suggestions:
        status === 403
          ? [`grant drc's service account get, create and update on leases (coordination.k8s.io) in ${namespace}`]
          : [],
    })
  }

  let current: undefined | V1Lease
  let previousNote: string | undefined
  for (let attempt = 0; ; attempt++) {
    let existing: undefined | V1Lease
    try {
      // eslint-disable-next-line no-await-in-loop -- a retry only follows a conflict
      existing = await coordination.readNamespacedLease({name, namespace})
    } catch (error) {
      if (kubeStatusCode(error) !== 404) throw fail('read', error)
    }

    const at = now()
    // eslint-disable-next-line no-await-in-loop
    const stamp = await microTime(at)
    try {
      if (existing) {
        refuseIfHeld(existing, holder, at.getTime(), {name, namespace, takeOver: opts.takeOver})
        const other = existing.spec?.holderIdentity
        previousNote = existing.metadata?.annotations?.[LEASE_NOTE]
        const takeover = other !== holder
        // eslint-disable-next-line no-await-in-loop
        current = await coordination.replaceNamespacedLease({
          body: {...existing, spec: takenSpec(existing, holder, stamp, leaseDurationSeconds)},
          name,
          namespace,
        })
        if (takeover && other) opts.log?.(`took over ${what} from ${other}`)
      } else {
        // eslint-disable-next-line no-await-in-loop
        current = await coordination.createNamespacedLease({
          body: {metadata: {name, namespace}, spec: takenSpec(undefined, holder, stamp, leaseDurationSeconds)},
          namespace,
        })
      }

      break
    } catch (error) {
      if (error instanceof DrcError) throw error
      if (kubeStatusCode(error) === 409 && attempt === 0) continue
      throw fail(existing ? 'take over' : 'create', error)
    }
  }

  let lost: string | undefined
  let released = false
  let renewing: Promise<void> = Promise.resolve()

  // Renewals and note writes go through one queue: two concurrent writes of the same resourceVersion would 409.
  const enqueue = <T>(task: () => Promise<T>): Promise<T> => {
    const result = renewing.then(task)
    renewing = result.then(
      () => {},
      () => {},
    )
    return result
  }

  const renew = async () => {
    if (released || lost || !current) return
    try {
      current = await coordination.replaceNamespacedLease({
        body: {...current, spec: {...current.spec, renewTime: await microTime(now())}},
        name,
        namespace,
      })
    } catch (error) {
      // A conflict means someone else wrote the lease: it is no longer ours to renew.
      const expiry = leaseExpiry(current)
      if (kubeStatusCode(error) === 409 || (expiry !== undefined && expiry <= now().getTime())) {
        lost = `${what} could not be renewed (${describeKubeError(error)}); another run may take it over`
        opts.log?.(`WARNING: ${lost}`)
      }
      // Other errors are transient until the lease expires: the next tick tries again.
    }
  }

  const interval = opts.renewIntervalMs ?? (leaseDurationSeconds * 1000) / 3
  const timer = setInterval(() => {
    enqueue(renew)
  }, interval)
  // Renewal must never keep a finished process alive.
  timer.unref()

  return {
    holder,
    get lost() {
      return lost
    },
    name,
    namespace,
    previousNote,
    async release() {
      if (released) return
      released = true
      clearInterval(timer)
      await renewing
      if (!current) return
      // Clear the holder rather than delete: the write is conditional on our resourceVersion, so a lease that
      // someone else took over in the meantime is left alone (a 409).
      try {
        const latest = await coordination.readNamespacedLease({name, namespace})
        if (latest.spec?.holderIdentity !== holder) return
        await coordination.replaceNamespacedLease({
          body: {...latest, spec: {...latest.spec, holderIdentity: undefined, renewTime: undefined}},
          name,
          namespace,
        })
      } catch (error) {
        if (kubeStatusCode(error) === 404 || kubeStatusCode(error) === 409) return
        // Not fatal for the registry (it is already re-locked), but the next run waits for the expiry.
        throw new DrcError(`cannot release ${what}: ${describeKubeError(error)}`, {
          cause: error,
          suggestions: [
            `it expires on its own after ${leaseDurationSeconds} s; \`drc registry status\` shows who holds it`,
          ],
        })
      }
    },
    writeNote(value) {
      return enqueue(async () => {
        // After release the lease is no longer ours to write: a note left behind stays for the next holder.
        if (!current || released) return
        const annotations = {...current.metadata?.annotations}
        if (value === undefined) delete annotations[LEASE_NOTE]
        else annotations[LEASE_NOTE] = value
        try {
          current = await coordination.replaceNamespacedLease({
            body: {...current, metadata: {...current.metadata, annotations}},
            name,
            namespace,
          })
        } catch (error) {
          throw fail('update', error)
        }
      })
    },
  }
}
