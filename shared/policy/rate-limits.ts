// From their own files, not the package's index (see ./rate-limiter-parts.d.ts).
import RateLimiterMemory from 'rate-limiter-flexible/lib/RateLimiterMemory.js';
import RateLimiterRes from 'rate-limiter-flexible/lib/RateLimiterRes.js';
import type { DepartmentPolicy } from './department-policy.js';

export type RateLimitVerdict = { allowed: true } | { allowed: false; retryAfterSeconds: number; limit: string };

export interface RateLimits {
  /** Counts one call by this caller to this tool; refuses it when the caller is over the tool's limit. */
  consume(callerOid: string, tool: string): Promise<RateLimitVerdict>;
}

/**
 * Per-caller, per-tool limits from the department policy, kept in this instance's memory. Several instances each
 * keep their own counts, so a scaled-out deployment also limits at the gateway (API Management).
 */
export function createRateLimits(limits: DepartmentPolicy['rateLimits']): RateLimits {
  const limiter = (window: { requests: number; perSeconds: number }) => ({
    limiter: new RateLimiterMemory({ points: window.requests, duration: window.perSeconds }),
    text: `${window.requests} requests per ${window.perSeconds} s`,
  });
  const fallback = limiter(limits.default);
  const perTool = new Map(Object.entries(limits.tools).map(([tool, window]) => [tool, limiter(window)]));

  return {
    async consume(callerOid, tool) {
      const { limiter: chosen, text } = perTool.get(tool) ?? fallback;
      try {
        await chosen.consume(`${callerOid}|${tool}`);
        return { allowed: true };
      } catch (rejection) {
        // The limiter rejects with its state when over the limit; anything else is a bug and propagates.
        if (!(rejection instanceof RateLimiterRes)) throw rejection;
        return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(rejection.msBeforeNext / 1000)), limit: text };
      }
    },
  };
}
