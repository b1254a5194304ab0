export {backupItems} from '../backup/batch.js'
export type {DeleteDeps} from './delete-items.js'
export {deleteItems, RecheckFailedError} from './delete-items.js'
