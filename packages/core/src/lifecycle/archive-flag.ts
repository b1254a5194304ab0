import {Flags} from '@oclif/core'

/**
 * --archive of the whole-environment strategies (unused delete, deactivated delete, unused all): deleting an
 * environment's images does not remove it from Domino, archiving it does (Candidate.mongoUpdates, after the deletes).
 */
export const archiveFlag = Flags.boolean({
  description:
    'With --apply: also archive (isArchived: true) each environment whose every image was deleted, so Domino users can no longer select it; saved for drc mongo restore.',
  helpGroup: 'DELETION',
})
