/** One reason the supply-chain gate fails: which check, which package, what is wrong and what to do. */
export interface Finding {
  check: string;
  subject: string;
  message: string;
}

export function describeFinding(finding: Finding): string {
  return `[${finding.check}] ${finding.subject}: ${finding.message}`;
}
