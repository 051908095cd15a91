// What the template checks (template-checks.ts, deployment-checks.ts) compare the templates against.

export interface CheckContext {
  /** Each custom role's exact permissions, by its label (roleName without the deployment suffix). */
  expectedRoles: Record<string, { actions: readonly string[]; dataActions: readonly string[] }>;
  /** Where each custom role may be assigned (its assignableScopes), by label. */
  assignableScopes: Record<string, 'managed groups' | 'unprotected managed groups' | 'app group' | 'subscription'>;
  /** Every role assignment the deployment may make, by role (custom label or built-in name). */
  roleGrants: Record<string, { on: GrantScope; when?: 'enableDestructiveTools' | 'enableGroupCreate' | 'enableApiManagement'; principal?: 'app' | 'gateway' }[]>;
  /** The built-in roles the templates may assign: role definition id → name. */
  builtInRoles: Record<string, string>;
  /** The exact set of app settings the template must set on the Function App. */
  expectedAppSettings: readonly string[];
  /** The audit queries: file name without .kql, and text. */
  kqlFiles: Record<string, string>;
  /** The alert rules of infra/kql/alerts/rules.json, each with its query text. */
  alertRules: readonly AlertRuleSpec[];
  /** Every route and its methods the app registers (functions/definitions.ts), with the route prefix "". */
  appRoutes: readonly { route: string; methods: readonly string[] }[];
}

export interface AlertRuleSpec {
  base: string;
  query: string;
  severity: number;
  evaluationFrequency: string;
  windowSize: string;
  overrideQueryTimeRange?: string;
  needsAppPrincipalId?: boolean;
}

export type GrantScope =
  | 'managed group'
  | 'unprotected managed group'
  | 'department vault'
  | 'app identity'
  | 'subscription'
  | 'audit container'
  | 'approvals table'
  | 'audit anchor table'
  | 'audit key secret'
  | 'audit pseudonym key secret'
  | 'catalogue signing key'
  | 'host storage account'
  | 'Application Insights';
