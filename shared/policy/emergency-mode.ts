/**
 * The duty officer's switch (app setting MCP_EMERGENCY_MODE). Changing an app setting restarts the Function App
 * in seconds, so the mode is fixed for the life of a process. `read-only` and `no-destructive` are Cedar rules
 * (emergency.read-only, emergency.no-destructive in rules.cedar, with the mode in the context); `closed` is refused
 * at the edge for every request but /health (and the revoke command, which only takes power away), and by a Cedar
 * rule too, so a tool call can never pass it.
 */
export const EMERGENCY_MODES = ['open', 'read-only', 'no-destructive', 'closed'] as const;

export type EmergencyMode = (typeof EMERGENCY_MODES)[number];

/** The audit rule of a refusal because of the mode: emergency.read-only, emergency.no-destructive, emergency.closed. */
export const emergencyRule = (mode: Exclude<EmergencyMode, 'open'>): string => `emergency.${mode}`;

/** What the caller and the audit read: the mode, the setting that sets it, and what still works. */
export function emergencyRefusal(mode: Exclude<EmergencyMode, 'open'>, what: string): string {
  const allowed: Record<typeof mode, string> = {
    'read-only': 'only read tools run',
    'no-destructive': 'read and write tools run; destructive tools and their approvals are refused',
    closed: 'every request is refused except /health',
  };
  return `Refused: the deployment is in emergency mode '${mode}' (MCP_EMERGENCY_MODE): ${allowed[mode]}, so ${what} was refused and nothing was changed. The operators will lift the mode when the incident is over.`;
}
