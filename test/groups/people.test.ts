import { afterAll, beforeAll } from '@jest/globals';
import { acquireSharedSandbox, releaseShared } from '../helpers/shared-stack.js';
// The members, run in this order on one sandbox and its default app (test/helpers/shared-stack.ts). Revoke last: it
// revokes every unused approval, the other members' included.
import '../auth.test.js';
import '../approval-browser.test.js';
import '../hostile/approval-page-text.test.js';
import '../shield.test.js';
import '../revoke.test.js';

// Held from the first member's tests to the last one's, so the sandbox is started once.
beforeAll(async () => void (await acquireSharedSandbox()));
afterAll(releaseShared);
