import { afterAll, beforeAll } from '@jest/globals';
import { acquireSharedSandbox, releaseShared } from '../helpers/shared-stack.js';
// The members, run in this order on one sandbox, each with an app of its own settings (test/helpers/shared-stack.ts).
import '../agents.test.js';
import '../step-up.test.js';
import '../scoped-authority.test.js';
import '../on-behalf-of.test.js';
import '../http-edge.test.js';
import '../kql-columns.test.js';

// Held from the first member's tests to the last one's, so the sandbox is started once.
beforeAll(async () => void (await acquireSharedSandbox()));
afterAll(releaseShared);
