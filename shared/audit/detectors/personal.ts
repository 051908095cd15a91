import { linearRegex } from '../../text/linear-regex.js';
import type { RedactionRule } from './secrets.js';

// linear (re2js): fixed-width groups of one character class each.
const GUID_SOURCE = '\\b[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}\\b';

/**
 * A UK number has nine or ten digits after its trunk prefix (the 0, or +44 and an optional (0)). Shorter runs are
 * not phone numbers: two groups of four digits inside a UUID (an approval id, `…-0123-4567-…`) matched the pattern
 * and were masked.
 */
function isUkPhoneLength(match: string): boolean {
  // linear: one character class, no quantifier.
  const digits = match.replace(/\D/g, '');
  const afterTrunk = match.trimStart().startsWith('+44') ? digits.slice(2) : digits;
  return (afterTrunk.startsWith('0') ? afterTrunk.slice(1) : afterTrunk).length >= 9;
}

/**
 * UK personal data in free text: e-mail addresses, phone numbers, National Insurance numbers in any common
 * separator style, NHS numbers (checksum-valid), a postcode when a person's name is near it, a date after a
 * date-of-birth label, and names after titles, greetings and labels such as `Applicant:`. Linear time (re2js).
 */
const rule = (name: string, source: string, replace: RedactionRule['replace'], flags = '', needs?: RedactionRule['needs']): RedactionRule => ({
  name,
  pattern: linearRegex(source, flags),
  replace,
  ...(needs ? { needs } : {}),
});

// A person's name as written in records: two to four capitalised words ("Dafydd ap Gwilym", "Siobhan O'Neill").
const NAME_WORD = "(?:[A-Z]['’])?[A-Z][a-z]+(?:['’-][A-Z]?[a-z]+)?";
const PERSON = `${NAME_WORD}(?:[ \\t]+(?:(?:ap|ab|de|van|von|der|le|la|du|di|da|bin|binti)[ \\t]+)?${NAME_WORD}){1,3}`;
const POSTCODE = '\\b[A-Z]{1,2}[0-9][A-Z0-9]?[ \\t]?[0-9][A-Z]{2}\\b';
const MONTHS =
  'January|February|March|April|May|June|July|August|September|October|November|December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec|' +
  'Ionawr|Chwefror|Mawrth|Ebrill|Mai|Mehefin|Gorffennaf|Awst|Medi|Hydref|Tachwedd|Rhagfyr';
const DATE = `(?:\\d{1,2}[/.-]\\d{1,2}[/.-]\\d{2,4}|\\d{4}-\\d{2}-\\d{2}|\\d{1,2}(?:st|nd|rd|th)?[ \\t]+(?:${MONTHS})[ \\t]+\\d{4})`;

/** NHS numbers carry a modulus-11 check digit; checking it keeps order and ticket numbers out. */
function isNhsNumber(digits: string): boolean {
  // linear: anchored, fixed length (ten digits).
  if (!/^\d{10}$/.test(digits)) return false;
  const sum = [...digits.slice(0, 9)].reduce((total, digit, index) => total + Number(digit) * (10 - index), 0);
  const check = 11 - (sum % 11);
  return check !== 10 && (check === 11 ? 0 : check) === Number(digits[9]);
}

const NEAR = 120;
const POSTCODE_PATTERN = linearRegex(POSTCODE);
const PERSON_PATTERN = linearRegex(PERSON);
const MASKED_NAME = linearRegex('\\[name\\]');
// A whole address with a dotted domain and a top-level name. On re2js: in V8, `(?:\.[A-Za-z0-9-]+)*\.` retries every
// split of `a@a.a.a.a…!`.
const EMAIL_ADDRESS = linearRegex('^[^@]+@[A-Za-z0-9-]+(?:\\.[A-Za-z0-9-]+)*\\.[A-Za-z]{2,}\\.?$');

export const PERSONAL_RULES: RedactionRule[] = [
  // Matched loosely (a word boundary would cost the automaton its fast path), then the domain is checked.
  rule('email', '[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+', (match) => (EMAIL_ADDRESS.test(match) ? `[email]${match.endsWith('.') ? '.' : ''}` : match), '', '@'),
  // linear: `needs` is fixed-width (at most 7 characters from each start, no nested repetition).
  rule('ni-number', '\\b[A-Za-z]{2}(?:[ \\t./-]?[0-9]){6}[ \\t./-]?[A-Da-d]\\b', () => '[NI number]', '', /[A-Za-z]{2}[ \t./-]?[0-9]{2}[ \t./-]?[0-9]/),
  // Labelled, any 10 digits; unlabelled, only written 3-3-4 with a valid check digit (a bare 10-digit number is
  // as often a Unix time or an order number).
  rule(
    'nhs-number',
    '(?i:\\b(nhs(?:[ \\t]*(?:number|no\\.?|num))?|rhif gig))([ \\t:=#-]*)[0-9]{3}[ -]?[0-9]{3}[ -]?[0-9]{4}\\b',
    (_m, label = '', gap = '') => `${label}${gap}[NHS number]`,
    '',
    // linear: `needs` is two three-letter literals.
    /nhs|gig/i,
  ),
  rule(
    'nhs-number',
    '\\b[0-9]{3}[ -][0-9]{3}[ -][0-9]{4}\\b',
    // linear: `[ -]` is one character.
    (match) => (isNhsNumber(match.replace(/[ -]/g, '')) ? '[NHS number]' : match),
    '',
    // linear: `needs` is fixed-width (four characters).
    /[0-9]{3}[ -]/,
  ),
  rule(
    'phone',
    // A GUID is matched first and kept whole: its last group can be twelve digits from a 0 (a correlation or
    // approval id), which the phone pattern alone took for a number.
    `(${GUID_SOURCE})|(?:\\+44[ \\t]?(?:\\(0\\)[ \\t]?)?|\\b0|\\(0)[0-9]{1,4}\\)?(?:[ \\t-]?[0-9]){6,9}\\b`,
    (match, guid) => (!guid && isUkPhoneLength(match) ? '[phone]' : match),
    '',
    // linear: `needs` is fixed-width (at most 12 characters from each start).
    /(?:\+44|0)[0-9 ()-]{9}/,
  ),
  rule(
    'date-of-birth',
    `(?i:\\b(?:dob|d\\.o\\.b\\.?|date of birth|born|birth date|dyddiad geni|ganwyd))[ \\t:,(-]*(${DATE})`,
    (match, date = '') => match.replace(date, '[date of birth]'),
    '',
    // linear: `needs` is an alternation of literals (at most 6 characters from each start).
    /dob|d\.o\.b|birth|born|geni|ganwyd/i,
  ),
  rule(
    'titled-name',
    `\\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Sir|Dame|Lady|Lord)\\.?[ \\t]+${NAME_WORD}(?:[ \\t]+${NAME_WORD}){0,2}`,
    () => '[name]',
    '',
    // linear: `needs` is an alternation of literal titles between word boundaries.
    /\b(?:Mr|Mrs|Ms|Miss|Mx|Dr|Prof|Sir|Dame|Lady|Lord)\b/,
  ),
  rule(
    'signed-name',
    `\\b(Dear|Regards|sincerely|faithfully|Thanks|From|Signed|Contact)(,?[ \\t\\n]+)${PERSON}`,
    (_m, word = '', gap = '') => `${word}${gap}[name]`,
    '',
    // linear: `needs` is an alternation of literals (at most 10 characters from each start).
    /dear|regards|sincerely|faithfully|thanks|from|signed|contact/i,
  ),
  rule(
    'said-name',
    `(?i:\\b(my|his|her|their|requester'?s?|applicant'?s?|citizen'?s?) name is)[ \\t]+${NAME_WORD}(?:[ \\t]+${NAME_WORD}){0,2}`,
    (_m, who = '') => `${who} name is [name]`,
    '',
    // linear: `needs` is one literal.
    /name is/i,
  ),
  rule(
    'labelled-name',
    `(?i:\\b(applicant(?: name)?|claimant|name|full name|data subject|requester|ymgeisydd|enw|patient|customer|citizen|appellant|respondent|tenant name|next of kin))([ \\t]*:[ \\t]*)${PERSON}`,
    (_m, label = '', colon = '') => `${label}${colon}[name]`,
    '',
    ':',
  ),
];

/** A postcode is personal data when a person's name is close to it: both go. */
export function redactPostcodesNearNames(text: string): string {
  // linear: one character class.
  if (!/[0-9]/.test(text) || !POSTCODE_PATTERN.test(text)) return text;
  const postcodes = POSTCODE_PATTERN.matches(text);
  // A name an earlier rule already masked ("Name: [name]") still counts as a name beside the postcode.
  const names = [...PERSON_PATTERN.matches(text), ...MASKED_NAME.matches(text)].sort((a, b) => a.index - b.index);
  // Both lists are in text order: one sweep with a moving window finds the names near each postcode (linear).
  const spans: { index: number; text: string }[] = [];
  let first = 0;
  for (const postcode of postcodes) {
    while (first < names.length && names[first]!.index < postcode.index - NEAR) first += 1;
    let last = first;
    while (last < names.length && names[last]!.index <= postcode.index + NEAR) last += 1;
    if (last > first) spans.push(postcode, ...names.slice(first, last));
  }
  // Rebuilt left to right in one pass (pieces joined once); overlapping spans are skipped.
  const parts: string[] = [];
  let done = 0;
  for (const span of [...new Map(spans.map((found) => [found.index, found])).values()].sort((a, b) => a.index - b.index)) {
    if (span.index < done) continue;
    parts.push(text.slice(done, span.index), POSTCODE_PATTERN.test(span.text) && span.text.length <= 8 ? '[postcode]' : '[name]');
    done = span.index + span.text.length;
  }
  parts.push(text.slice(done));
  return parts.join('');
}
