/** The one exit-code table of the whole CLI (design.md invariant 8). */
export const ExitCode = {
  CANCELLED: 130,
  FAILURE: 1,
  PARTIAL: 4,
  PREFLIGHT_REFUSED: 3,
  SUCCESS: 0,
  USAGE: 2,
} as const

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode]
