/** How much harm a tool can do; roles, annotations, read-only mode and the approval gate all derive from it. */
export type RiskTier = 'read' | 'write' | 'destructive';
