export {DeletionCommand} from './deletion-command.js'
export type {DeletionFlags, DeletionResult} from './deletion-command.js'
export type {FireHook, LifecycleHookEvent, LifecycleHookPayloads} from './hooks.js'
export type {DeletionReport, LockState, PhaseName, RunStatus} from './pipeline.js'
export type {
  Candidate,
  DeletionPlan,
  ItemOutcome,
  MongoRecord,
  MongoRecordCollection,
  PlanContext,
  PlanItem,
  SkippedItem,
} from './types.js'
