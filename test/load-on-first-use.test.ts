import { describe, expect, it } from '@jest/globals';
import { loadOnFirstUse } from '../shared/runtime/load-on-first-use.js';

describe('loadOnFirstUse', () => {
  it('loads nothing until asked, then once for every caller, concurrent ones included', async () => {
    let loads = 0;
    const get = loadOnFirstUse(async () => ({ made: ++loads }));
    expect(loads).toBe(0);
    const [a, b] = await Promise.all([get(), get()]);
    expect(await get()).toBe(a);
    expect(b).toBe(a);
    expect(loads).toBe(1);
  });

  it('does not keep a failure: the next call loads again', async () => {
    let loads = 0;
    const get = loadOnFirstUse(async () => {
      loads += 1;
      if (loads === 1) throw new Error('storage did not answer');
      return 'loaded';
    });
    await expect(get()).rejects.toThrow('storage did not answer');
    expect(await get()).toBe('loaded');
    expect(await get()).toBe('loaded');
    expect(loads).toBe(2);
  });
});
