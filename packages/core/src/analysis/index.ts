export {BlobGraph} from './graph.js'
export type {
  BlobRef,
  FreedResult,
  ImageSelector,
  ImageSize,
  LayerInfo,
  ManifestNode,
  Revision,
  SummaryStats,
} from './graph.js'
export {scanEcr} from './scan-ecr.js'
export {defaultRepositories, scanRegistry} from './scan.js'
export type {ScanOptions, ScanProgress, ScanResult} from './scan.js'
export {analyseRegistry} from './service.js'
export type {AnalysisOptions, AnalysisRun, AnalysisStats} from './service.js'
export {AnalysisStalledError, withStallTimeout} from './stall.js'
export type {StallWatch} from './stall.js'
