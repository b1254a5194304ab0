import {DrcError} from '../lib/errors.js'

/** What a registry call was about, so every error can name the repository, tag or digest. */
export interface RequestSubject {
  method: string
  reference?: string
  repository?: string
  url: string
}

function subjectText(s: RequestSubject): string {
  if (s.repository && s.reference) return `${s.repository}${s.reference.includes(':') ? '@' : ':'}${s.reference}`
  if (s.repository) return s.repository
  return s.url
}

/** Base of every registry failure; `status` is the HTTP status (0 for network errors). */
export class RegistryError extends DrcError {
  readonly code: string | undefined
  readonly status: number
  readonly subject: RequestSubject

  constructor(
    message: string,
    subject: RequestSubject,
    opts: {cause?: unknown; code?: string; status?: number; suggestions?: string[]} = {},
  ) {
    super(message, {cause: opts.cause, suggestions: opts.suggestions})
    this.name = 'RegistryError'
    this.status = opts.status ?? 0
    this.code = opts.code
    this.subject = subject
  }

  get target(): string {
    return subjectText(this.subject)
  }
}

export class NotFoundError extends RegistryError {
  constructor(subject: RequestSubject, code?: string) {
    super(`${subjectText(subject)} not found in the registry (${code ?? 'HTTP 404'})`, subject, {
      code,
      status: 404,
      suggestions: ['check the repository and tag names (drc reports lists what exists)'],
    })
    this.name = 'NotFoundError'
  }
}

export class UnauthorizedError extends RegistryError {
  constructor(subject: RequestSubject, status: number, detail: string) {
    super(`registry refused the credentials for ${subjectText(subject)} (HTTP ${status}): ${detail}`, subject, {
      status,
      suggestions: [
        'check registry.username / registry.password (REGISTRY_USERNAME / REGISTRY_PASSWORD)',
        'or the dockerconfigjson secret named by registry.auth_secret (REGISTRY_AUTH_SECRET)',
        'for ECR, check the AWS credentials and region',
      ],
    })
    this.name = 'UnauthorizedError'
  }
}

export class ForbiddenError extends RegistryError {
  constructor(subject: RequestSubject, detail: string) {
    super(`registry denied ${subject.method} on ${subjectText(subject)} (HTTP 403): ${detail}`, subject, {
      status: 403,
      suggestions: ['the credentials are valid but lack permission for this repository/action'],
    })
    this.name = 'ForbiddenError'
  }
}

export class DeletionDisabledError extends RegistryError {
  constructor(subject: RequestSubject) {
    super(`registry refused to delete ${subjectText(subject)}: deletion is disabled (405 UNSUPPORTED)`, subject, {
      code: 'UNSUPPORTED',
      status: 405,
      suggestions: [
        'set REGISTRY_STORAGE_DELETE_ENABLED=true on the registry (drc unlocks the in-cluster registry itself)',
      ],
    })
    this.name = 'DeletionDisabledError'
  }
}

export class DigestMismatchError extends RegistryError {
  constructor(subject: RequestSubject, expected: string, actual: string) {
    super(`manifest of ${subjectText(subject)} hashes to ${actual}, but the registry said ${expected}`, subject, {
      suggestions: ['a proxy may be rewriting manifests; talk to the registry directly'],
    })
    this.name = 'DigestMismatchError'
  }
}

/** Network failure, 5xx or 429 that outlived every retry. */
export class RegistryUnavailableError extends RegistryError {
  constructor(subject: RequestSubject, detail: string, opts: {cause?: unknown; status?: number} = {}) {
    super(`registry unavailable while requesting ${subjectText(subject)}: ${detail}`, subject, {
      cause: opts.cause,
      status: opts.status,
      suggestions: [
        'check that the registry is running and reachable (drc health)',
        'raise retry.max_retries / retry.max_delay if it is only overloaded',
      ],
    })
    this.name = 'RegistryUnavailableError'
  }
}
