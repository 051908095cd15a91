import { createRequire } from 'node:module';
import type TestSequencerModule from '@jest/test-sequencer';

type TestSequencer = typeof TestSequencerModule.default;
// CommonJS with its class as `default`: loaded as such (an ESM default import would be the whole exports object).
const { default: Sequencer } = createRequire(import.meta.url)('@jest/test-sequencer') as { default: TestSequencer };
type Tests = Parameters<InstanceType<TestSequencer>['sort']>[0];

/**
 * Jest's own order (failed and slowest first when it has timings from an earlier run, largest first when not),
 * except that the group files (test/groups/) go first: each runs several files' tests in a row, so started last —
 * as a fresh clone, with no timings, would start them — one runs on alone at the end while the other workers idle.
 * (The files that mostly wait out deadlines run in a pass of their own beside this one: dev/test.sh.)
 */
export default class GroupsFirst extends Sequencer {
  override async sort(tests: Tests): Promise<Tests> {
    const sorted = await super.sort(tests);
    const groups = sorted.filter((test) => test.path.includes('/test/groups/'));
    return [...groups, ...sorted.filter((test) => !groups.includes(test))];
  }
}
