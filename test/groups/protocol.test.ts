import { afterAll, beforeAll } from '@jest/globals';
import { acquireSharedStack, releaseSharedStack } from '../helpers/shared-stack.js';
// The members, run in this order on one stack (test/helpers/shared-stack.ts).
import '../mcp-clients.test.js';
import '../mcp-fast-path.test.js';
import '../conformance/inspector.test.js';
import '../entrances.test.js';
import '../hostile/notifications.test.js';
import '../hostile/host-authority.test.js';
import '../policy.test.js';
import '../hostile/protection.test.js';

// Held from the first member's tests to the last one's, so the stack is started once.
beforeAll(async () => void (await acquireSharedStack()));
afterAll(releaseSharedStack);
