import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type TestSequencerModule from '@jest/test-sequencer';

type TestSequencer = typeof TestSequencerModule.default;
// CommonJS with its class as `default`: loaded as such (an ESM default import would be the whole exports object).
const { default: Sequencer } = createRequire(import.meta.url)('@jest/test-sequencer') as { default: TestSequencer };
type Tests = Parameters<InstanceType<TestSequencer>['sort']>[0];

/** The mark a test file's first line carries when most of its time is spent waiting on deadlines (hung Azure calls). */
const STARTS_EARLY = '// starts-early:';

const startsEarly = (path: string): boolean => readFileSync(path, 'utf8').startsWith(STARTS_EARLY);

/**
 * Jest's own order (failed and slowest first when it has timings from an earlier run, largest first when not),
 * except that the group files (test/groups/) go first, then the files marked as starting early: each group runs
 * several files' tests in a row, and a marked file waits out deadlines for most of a minute. Started last — as a
 * fresh clone, with no timings, starts such small files — one runs on alone at the end while the other workers idle
 * (a fresh clone's jest pass ended with unknown-outcome's 53 s and faults' 35 s).
 */
export default class GroupsFirst extends Sequencer {
  override async sort(tests: Tests): Promise<Tests> {
    const sorted = await super.sort(tests);
    const ranks = new Map(sorted.map((test) => [test, test.path.includes('/test/groups/') ? 0 : startsEarly(test.path) ? 1 : 2]));
    return [0, 1, 2].flatMap((rank) => sorted.filter((test) => ranks.get(test) === rank));
  }
}
