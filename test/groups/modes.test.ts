import { afterAll, beforeAll } from '@jest/globals';
import { acquireSharedSandbox, releaseShared } from '../helpers/shared-stack.js';
// The members, run in this order on one sandbox, each mode with an app of its own (test/helpers/shared-stack.ts).
import '../emergency.test.js';
import '../approvals.test.js';

// Held from the first member's tests to the last one's, so the sandbox is started once.
beforeAll(async () => void (await acquireSharedSandbox()));
afterAll(releaseShared);
