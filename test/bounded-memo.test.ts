import { describe, expect, it } from '@jest/globals';
import { boundedMemo } from '../shared/runtime/bounded-memo.js';
import { redactText } from '../shared/audit/redact.js';
import { namesPersonalData, namesSecret } from '../shared/audit/detectors/field-names.js';

/** A function that counts its calls per input. */
function counted(fn: (text: string) => string) {
  const calls = new Map<string, number>();
  return { calls, fn: (text: string) => (calls.set(text, (calls.get(text) ?? 0) + 1), fn(text)) };
}

describe('boundedMemo', () => {
  it('answers as the function does, working out each short input once', () => {
    const { calls, fn } = counted((text) => text.toUpperCase());
    const memo = boundedMemo(fn, { maxEntries: 10, maxLength: 8 });
    expect([memo('abc'), memo('abc'), memo('xyz'), memo('abc')]).toEqual(['ABC', 'ABC', 'XYZ', 'ABC']);
    expect(Object.fromEntries(calls)).toEqual({ abc: 1, xyz: 1 });
  });

  it('never keeps an input longer than maxLength', () => {
    const { calls, fn } = counted((text) => text.length.toString());
    const memo = boundedMemo(fn, { maxEntries: 10, maxLength: 8 });
    const long = 'x'.repeat(9);
    expect([memo(long), memo(long), memo(long)]).toEqual(['9', '9', '9']);
    expect(calls.get(long)).toBe(3);
  });

  it('holds at most maxEntries inputs: distinct inputs past that start the memory again', () => {
    const { calls, fn } = counted((text) => `<${text}>`);
    const memo = boundedMemo(fn, { maxEntries: 3, maxLength: 8 });
    for (const text of ['a', 'b', 'c']) memo(text);
    memo('a');
    expect(calls.get('a')).toBe(1);
    memo('d'); // the fourth distinct input: the memory starts again, holding only 'd'
    memo('a');
    expect(calls.get('a')).toBe(2);
    memo('d');
    expect(calls.get('d')).toBe(1);
  });
});

describe('remembered redaction', () => {
  it('gives a repeated text the same redaction as the first time, secrets and personal data included', () => {
    const texts = [
      'contact jane.doe@example.gov.uk today',
      'AccountKey=' + 'A'.repeat(86) + '==',
      'rg-ddr-records-prod-uks',
      'x'.repeat(300) + ' jane.doe@example.gov.uk',
    ];
    const first = texts.map(redactText);
    expect(texts.map(redactText)).toEqual(first);
    expect(first[0]).not.toContain('jane.doe@example.gov.uk');
    expect(first[1]).not.toContain('A'.repeat(86));
    expect(first[2]).toBe('rg-ddr-records-prod-uks');
    expect(first[3]).not.toContain('jane.doe@example.gov.uk');
  });

  it('judges a repeated field name the same way each time', () => {
    for (let round = 0; round < 3; round += 1) {
      expect([namesSecret('clientSecret'), namesSecret('keyName'), namesPersonalData('dateOfBirth'), namesPersonalData('location')]).toEqual([
        true,
        false,
        true,
        false,
      ]);
    }
  });
});
