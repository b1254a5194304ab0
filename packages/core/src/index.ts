// The public API that strategy plugins (ours and third-party) import from `drc`.
export {KEYS, loadConfig, reportPath} from './config/index.js'
export type {DrcConfig, LoadedConfig} from './config/index.js'
export {failedRequired, runHealthChecks} from './health/run.js'
export type {HealthOptions} from './health/run.js'
export type {HealthCheckName, HealthResult, HealthStatus} from './health/types.js'
export {createKubeClients, lazySecretReader} from './kube/client.js'
export type {SecretReader} from './kube/client.js'
export {BaseCommand} from './lib/base-command.js'
export type {BaseArgs, BaseFlags} from './lib/base-command.js'
export {DrcError, errorMessage, UsageError} from './lib/errors.js'
export {ExitCode} from './lib/exit-codes.js'
export type {ExitCodeValue} from './lib/exit-codes.js'
export type {ErrorEnvelope, SuccessEnvelope} from './lib/json-envelope.js'
export {columnNames, formatTable, tableFlags} from './lib/table.js'
export type {Cell, TableColumn, TableFlagValues} from './lib/table.js'
export {archiveFlag} from './lifecycle/archive-flag.js'
export {normalizeRepository} from './lifecycle/digest-plan.js'
export {DeletionCommand} from './lifecycle/index.js'
export type {
  Candidate,
  DeletionFlags,
  DeletionPlan,
  DeletionReport,
  DeletionResult,
  ItemOutcome,
  LifecycleHookEvent,
  LifecycleHookPayloads,
  MongoRecord,
  MongoRecordCollection,
  PlanContext,
  PlanItem,
  SkippedItem,
} from './lifecycle/index.js'
export {MongoChangeCommand} from './lifecycle/mongo-change-command.js'
export type {
  MongoChange,
  MongoChangeContext,
  MongoChangeReport,
  MongoChangeResult,
  PlannedRemoval,
} from './lifecycle/mongo-change-command.js'
export {undoFlags} from './lifecycle/mongo-change-updates.js'
export {
  inputFlag,
  inputKinds,
  namesCandidate,
  namesRecord,
  narrowToInput,
  type PlanInput,
  readPlanInput,
} from './lifecycle/plan-input.js'
export {predecessorConfig, predecessorFlags} from './lifecycle/predecessor-flags.js'
export type {PredecessorFlagValues} from './lifecycle/predecessor-flags.js'
export type {KeptRecord, MongoCleanupResult, SavedDocument} from './mongo/types.js'
export type {
  MongoUpdateResult,
  PlannedUpdate,
  SavedUpdate,
  UndoUpdatesResult,
  UpdateCollection,
} from './mongo/updates.js'
export {archiveEnvironmentUpdate} from './mongo/updates.js'
export {NotFoundError} from './registry/errors.js'
export {openRegistryClient} from './registry/open.js'
export {connectKeycloak, keycloakConfigured} from './services/keycloak.js'
export {connectMongo} from './services/mongo.js'
export type {MongoConnection} from './services/mongo.js'
export {buildUsageGraph} from './usage/build.js'
export {cloneProtection} from './usage/clone-chain.js'
export type {UsageGraph} from './usage/graph.js'
export {hexOf, idFilter, loadIdFilter} from './usage/ids.js'
export {type MalformedHandler, malformedMessage, warnOnStderr} from './usage/malformed.js'
export {readIdFile} from './usage/object-ids.js'
export type {ObjectIdKind} from './usage/object-ids.js'
export {evaluateUsage} from './usage/predicate.js'
export {modelTagKey} from './usage/tags.js'
export type {TagUsage, UsageRules, Verdict} from './usage/types.js'
