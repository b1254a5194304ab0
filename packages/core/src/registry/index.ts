export {clientOptionsFromConfig, nextLink, registryBaseUrl, RegistryClient, sha256Digest} from './client.js'
export type {ClientStats, ManifestHead, ManifestResult, RegistryClientOptions} from './client.js'
export {
  ANONYMOUS,
  credentialsFromDockerConfig,
  DOMINO_REGISTRY_SECRET,
  ecrCredentials,
  ecrRegion,
  isEcrHost,
  registryHost,
  resolveCredentials,
  staticCredentials,
} from './credentials.js'
export type {CredentialSource, ReadSecret, RegistryCredentials} from './credentials.js'
export {EcrBackend} from './ecr-backend.js'
export type {EcrDeleteResult, EcrImage} from './ecr-backend.js'
// Every error class and RequestSubject: the registry's errors are all public.
export * from './errors.js'
export {ManifestCache} from './manifest-cache.js'
export {mapLimit} from './map-limit.js'
export {isIndexType, MANIFEST_ACCEPT, MediaType, parseManifest} from './media-types.js'
export type {Descriptor, ParsedManifest} from './media-types.js'
