import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { AUTH_CONTEXT_ID } from '../../shared/auth/step-up.js';

/**
 * The Conditional Access files the infra README applies with Microsoft Graph: every policy targets an authentication
 * context that is declared, excludes the break-glass accounts, starts report-only, and demands a strong sign-in.
 */
const DIR = 'infra/entra/conditional-access';
const read = (name: string) => JSON.parse(readFileSync(`${DIR}/${name}`, 'utf8'));

interface Policy {
  state: string;
  conditions: { applications: { includeAuthenticationContextClassReferences?: string[] }; users: { includeUsers: string[]; excludeGroups?: string[] } };
  grantControls: { operator: string; builtInControls: string[]; authenticationStrength?: { id: string } };
  sessionControls?: { signInFrequency?: { isEnabled: boolean; frequencyInterval: string } };
}

describe('Conditional Access for step-up', () => {
  const contexts = read('authentication-contexts.json') as { id: string; isAvailable: boolean }[];
  const policies: [string, Policy][] = [
    ['policy-c1-changes.json', read('policy-c1-changes.json')],
    ['policy-c2-approvals.json', read('policy-c2-approvals.json')],
  ];

  it('declares contexts the app accepts, available to policies', () => {
    expect(contexts.map((context) => context.id)).toEqual(['c1', 'c2']);
    for (const context of contexts) {
      expect(context.id).toMatch(AUTH_CONTEXT_ID);
      expect(context.isAvailable).toBe(true);
    }
  });

  it.each(policies)('%s: a declared context, break-glass excluded, report-only first, phishing-resistant MFA', (_name, policy) => {
    const targeted = policy.conditions.applications.includeAuthenticationContextClassReferences ?? [];
    expect(targeted.length).toBe(1);
    expect(contexts.map((context) => context.id)).toContain(targeted[0]);
    expect(policy.conditions.users.excludeGroups).toEqual(['<break-glass group id>']);
    expect(policy.state).toBe('enabledForReportingButNotEnforced');
    expect(policy.grantControls.operator).toBe('AND');
    expect(policy.grantControls.authenticationStrength?.id).toBe('00000000-0000-0000-0000-000000000004');
    expect(policy.sessionControls?.signInFrequency?.isEnabled).toBe(true);
  });

  it('approvals demand a sign-in every time', () => {
    const approvals = policies.find(([name]) => name.includes('approvals'))?.[1];
    expect(approvals?.sessionControls?.signInFrequency?.frequencyInterval).toBe('everyTime');
  });
});
