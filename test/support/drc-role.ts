/**
 * The least-privilege namespaced Role for drc's ServiceAccount in the platform namespace: what drc asks of the API
 * and nothing more (the Helm chart of the operations issue ships the same rules). Tests bind it to a ServiceAccount
 * and remove one rule at a time to see the real authorizer refuse.
 */
export interface RoleRule {
  apiGroups: string[]
  resources: string[]
  verbs: string[]
}

export const DRC_ROLE_RULES: RoleRule[] = [
  // The kubernetes health check reads the platform namespace (a Role in it may grant that).
  {apiGroups: [''], resources: ['namespaces'], verbs: ['get']},
  // The registry lock: read and patch the registry's env, watch its pods roll.
  {apiGroups: ['apps'], resources: ['statefulsets'], verbs: ['get', 'patch']},
  {apiGroups: [''], resources: ['pods'], verbs: ['list']},
  // The deletion lease (one run at a time, the prior value recorded).
  {apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: ['get', 'create', 'update']},
  // Registry location (Service) and credentials/passwords (Secrets).
  {apiGroups: [''], resources: ['services'], verbs: ['get']},
  {apiGroups: [''], resources: ['secrets'], verbs: ['get']},
]

/** The rules with `verb` taken away from the rule for `resource`. */
export const withoutVerb = (verb: string, resource: string, rules: RoleRule[] = DRC_ROLE_RULES): RoleRule[] =>
  rules
    .map((r) => (r.resources.includes(resource) ? {...r, verbs: r.verbs.filter((v) => v !== verb)} : r))
    // The API server refuses a rule without verbs: drop it.
    .filter((r) => r.verbs.length > 0)
