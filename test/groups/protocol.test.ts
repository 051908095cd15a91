import { afterAll, beforeAll } from '@jest/globals';
import { acquireSharedSandbox, releaseShared } from '../helpers/shared-stack.js';
// The members, run in this order on one sandbox and its default app (test/helpers/shared-stack.ts).
import '../mcp-clients.test.js';
import '../mcp-fast-path.test.js';
import '../conformance/inspector.test.js';
import '../entrances.test.js';
import '../hostile/notifications.test.js';
import '../hostile/host-authority.test.js';
import '../policy.test.js';
import '../hostile/protection.test.js';

// Held from the first member's tests to the last one's, so the sandbox is started once.
beforeAll(async () => void (await acquireSharedSandbox()));
afterAll(releaseShared);
