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

/** How many marked files start beside the groups; the others start once the groups have all started. */
const WAITING_BESIDE_GROUPS = 2;

/**
 * Jest's own order (failed and slowest first when it has timings from an earlier run, largest first when not),
 * except that the group files (test/groups/) and the files marked as starting early go first: each group runs
 * several files' tests in a row, and a marked file waits out deadlines for most of a minute. Started last — as a
 * fresh clone, with no timings, starts such small files — one runs on alone at the end while the other workers idle
 * (a fresh clone's jest pass ended with unknown-outcome's 53 s and faults' 35 s). The marked files take turns with
 * the groups rather than all following them: on 4 workers, the three marked files and a fourth that waited as much
 * once held every worker at the same time and left the machine's 2 cores idle for ~30 s (0.26 of them busy).
 */
export default class GroupsFirst extends Sequencer {
  override async sort(tests: Tests): Promise<Tests> {
    const sorted = await super.sort(tests);
    const groups = sorted.filter((test) => test.path.includes('/test/groups/'));
    const rest = sorted.filter((test) => !groups.includes(test));
    const early = rest.filter((test) => startsEarly(test.path));
    const beside = early.slice(0, WAITING_BESIDE_GROUPS);
    const first = [...beside.flatMap((test, i) => [test, ...groups.slice(i, i + 1)]), ...groups.slice(beside.length)];
    return [...first, ...early.slice(beside.length), ...rest.filter((test) => !early.includes(test))];
  }
}
