import {Flags} from '@oclif/core'

export const tagAgeFlags = {
  'older-than-days': Flags.integer({
    description: 'Only images whose revision was created more than this many days ago.',
    min: 0,
  }),
  pattern: Flags.string({description: 'Tag glob (* and ?), e.g. "*-1" or "64f0c3*".'}),
}
