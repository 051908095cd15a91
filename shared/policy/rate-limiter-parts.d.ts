/**
 * The two classes of rate-limiter-flexible the app uses, imported from their own files: the package's index loads
 * every store it supports (Redis, Mongo, SQL, DynamoDB, ...), 70 KB of the bundle and about 15 ms of each unbundled
 * start. The types are the package's own.
 */
declare module 'rate-limiter-flexible/lib/RateLimiterMemory.js' {
  import { RateLimiterMemory } from 'rate-limiter-flexible';
  export default RateLimiterMemory;
}

declare module 'rate-limiter-flexible/lib/RateLimiterRes.js' {
  import { RateLimiterRes } from 'rate-limiter-flexible';
  export default RateLimiterRes;
}
