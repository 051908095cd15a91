/**
 * `npm run eval`: measures the shield and the audit redaction on the labelled corpora in test/corpora and exits
 * non-zero when a target is missed (CI runs it). Per detector it prints what share of hostile items it caught and
 * what share of benign items it wrongly flagged; redaction is cross-checked with secretlint's recommended rules.
 */
import { lintSource } from '@secretlint/core';
import { creator as recommended } from '@secretlint/secretlint-rule-preset-recommend';
import * as z from 'zod';
import { redactTextDetailed } from '../../shared/audit/detectors/index.js';
import { namesPersonalData, namesSecret } from '../../shared/audit/detectors/field-names.js';
import { redactText, redactValue } from '../../shared/audit/redact.js';
import { shieldOutput } from '../../shared/shield/shield.js';
import { untrusted } from '../../shared/shield/untrusted.js';
import { benignTexts, hostileTexts, redactionItems, type RedactionItem, type ShieldItem } from './corpora.js';

const TARGETS = { shieldDetection: 0.95, shieldFalsePositives: 0.01, secrets: 1, personal: 0.95, benignAltered: 0.02 };

const percent = (part: number, whole: number): string => (whole === 0 ? '   n/a' : `${((100 * part) / whole).toFixed(1).padStart(5)} %`);
const failures: string[] = [];
function gate(ok: boolean, what: string): void {
  if (!ok) failures.push(what);
}

// ---------- shield ----------
const schema = z.object({ note: untrusted(z.string()) });
/** Which detectors fired on a text, and through which view ("via base64"). */
function shieldDetectors(text: string): string[] {
  const { detections } = shieldOutput(schema, { note: text }).report;
  return [...new Set(detections.flatMap((found) => [found.detector, ...(found.via === 'text' ? [] : [`  via ${found.via}`])]))];
}

function evaluateShield(): void {
  const hostile = hostileTexts().map((item) => ({ item, fired: shieldDetectors(item.text) }));
  const benign = benignTexts().map((item) => ({ item, fired: shieldDetectors(item.text) }));
  const names = [...new Set([...hostile, ...benign].flatMap((row) => row.fired))].sort();
  console.log(`\nShield: ${hostile.length} hostile texts, ${benign.length} benign texts`);
  console.log(`${'detector'.padEnd(28)} detection   false pos.`);
  for (const name of names) {
    const caught = hostile.filter((row) => row.fired.includes(name)).length;
    const wrong = benign.filter((row) => row.fired.includes(name)).length;
    console.log(`${name.padEnd(28)} ${percent(caught, hostile.length)}   ${percent(wrong, benign.length)}`);
  }
  for (const split of ['dev', 'held-out', undefined] as const) {
    const h = hostile.filter((row) => !split || row.item.split === split);
    const b = benign.filter((row) => !split || row.item.split === split);
    const caught = h.filter((row) => row.fired.length > 0).length;
    const wrong = b.filter((row) => row.fired.length > 0).length;
    console.log(
      `${`any (${split ?? 'all'})`.padEnd(28)} ${percent(caught, h.length)}   ${percent(wrong, b.length)}   (${caught}/${h.length} caught, ${wrong}/${b.length} wrongly flagged)`,
    );
    if (!split) {
      gate(caught / h.length >= TARGETS.shieldDetection, `shield detection ${percent(caught, h.length)} < ${TARGETS.shieldDetection * 100} %`);
      gate(wrong / b.length <= TARGETS.shieldFalsePositives, `shield false positives ${percent(wrong, b.length)} > ${TARGETS.shieldFalsePositives * 100} %`);
    }
  }
  const byTechnique = new Map<string, { caught: number; total: number }>();
  for (const row of hostile) {
    const entry = byTechnique.get(row.item.technique ?? '?') ?? { caught: 0, total: 0 };
    entry.total += 1;
    if (row.fired.length > 0) entry.caught += 1;
    byTechnique.set(row.item.technique ?? '?', entry);
  }
  console.log(`by technique: ${[...byTechnique].map(([name, { caught, total }]) => `${name} ${caught}/${total}`).join(', ')}`);
  listed(
    'missed',
    hostile.filter((row) => row.fired.length === 0).map((row) => row.item),
  );
  listed(
    'wrongly flagged',
    benign.filter((row) => row.fired.length > 0).map((row) => row.item),
  );
}

function listed(label: string, items: ShieldItem[]): void {
  if (items.length === 0) return;
  console.log(`${label}: ${items.map((item) => `${item.id} ${JSON.stringify(item.text.slice(0, 70))}`).join('\n  ')}`);
}

// ---------- redaction ----------
const redact = (input: unknown): unknown => (typeof input === 'string' ? redactText(input) : redactValue(input));
const asText = (value: unknown): string => (typeof value === 'string' ? value : JSON.stringify(value));

/** Which redaction detectors change an item: text rules on every string in it, and field-name rules on its keys. */
function redactionDetectors(input: unknown, found = new Set<string>()): Set<string> {
  if (typeof input === 'string') for (const name of redactTextDetailed(input).detectors) found.add(name);
  else if (Array.isArray(input)) for (const item of input) redactionDetectors(item, found);
  else if (input && typeof input === 'object') {
    for (const [key, item] of Object.entries(input)) {
      if (namesSecret(key)) found.add('secret-field');
      else if (namesPersonalData(key)) found.add('personal-field');
      else redactionDetectors(item, found);
    }
  }
  return found;
}

function survives(item: RedactionItem, output: string): string[] {
  return (item.mustRemove ?? []).filter((fragment) => fragment.length > 0 && output.includes(fragment));
}

const secretlintConfig = { rules: [{ id: '@secretlint/secretlint-rule-preset-recommend', rule: recommended }] };
async function secretlintFindings(text: string): Promise<string[]> {
  const result = await lintSource({ source: { filePath: '/audit.txt', content: text, contentType: 'text' }, options: { config: secretlintConfig } });
  return result.messages.map((message) => message.ruleId);
}

async function evaluateRedaction(): Promise<void> {
  const items = redactionItems();
  const rows = items.map((item) => {
    const output = asText(redact(item.input));
    return { item, output, leaked: survives(item, output), altered: output !== asText(item.input) };
  });
  console.log(`\nRedaction: ${items.length} items`);
  const fired = rows.map((row) => ({ cls: row.item.class, names: redactionDetectors(row.item.input) }));
  const total = (cls: string) => fired.filter((row) => row.cls === cls).length;
  console.log(`${'detector'.padEnd(28)}  secrets  personal   benign altered`);
  for (const name of [...new Set(fired.flatMap((row) => [...row.names]))].sort()) {
    const share = (cls: string) => percent(fired.filter((row) => row.cls === cls && row.names.has(name)).length, total(cls));
    console.log(`${name.padEnd(28)} ${share('secret')}  ${share('personal')}  ${share('benign')}`);
  }
  for (const cls of ['secret', 'personal'] as const) {
    for (const split of ['dev', 'held-out', undefined] as const) {
      const these = rows.filter((row) => row.item.class === cls && (!split || row.item.split === split));
      const removed = these.filter((row) => row.leaked.length === 0).length;
      console.log(`${`${cls} removed (${split ?? 'all'})`.padEnd(28)} ${percent(removed, these.length)}   (${removed}/${these.length})`);
      if (!split) gate(removed / these.length >= (cls === 'secret' ? TARGETS.secrets : TARGETS.personal), `${cls} removed ${percent(removed, these.length)}`);
    }
  }
  for (const split of ['dev', 'held-out', undefined] as const) {
    const these = rows.filter((row) => row.item.class === 'benign' && (!split || row.item.split === split));
    const altered = these.filter((row) => row.altered).length;
    console.log(`${`benign altered (${split ?? 'all'})`.padEnd(28)} ${percent(altered, these.length)}   (${altered}/${these.length})`);
    if (!split) gate(altered / these.length <= TARGETS.benignAltered, `benign look-alikes altered ${percent(altered, these.length)}`);
  }
  for (const row of rows.filter((r) => r.leaked.length > 0)) console.log(`  left in: ${row.item.id} -> ${JSON.stringify(row.output.slice(0, 140))}`);
  for (const row of rows.filter((r) => r.item.class === 'benign' && r.altered))
    console.log(`  altered: ${row.item.id} -> ${JSON.stringify(row.output.slice(0, 140))}`);

  // Cross-check with a maintained rule set: what secretlint alone finds in the inputs, and that it finds nothing
  // in what redaction kept.
  let secretlintCaught = 0;
  const secrets = rows.filter((row) => row.item.class === 'secret');
  for (const row of secrets) if ((await secretlintFindings(asText(row.item.input))).length > 0) secretlintCaught += 1;
  let missedBySelf = 0;
  for (const row of rows) {
    const found = await secretlintFindings(row.output);
    if (found.length > 0) {
      missedBySelf += 1;
      console.log(`  secretlint still finds ${found.join(', ')} in ${row.item.id}`);
    }
  }
  console.log(
    `${'secretlint alone on secrets'.padEnd(28)} ${percent(secretlintCaught, secrets.length)}   (${secretlintCaught}/${secrets.length}; informational)`,
  );
  console.log(`${'secretlint on redacted'.padEnd(28)} ${missedBySelf} finding(s) (must be 0)`);
  gate(missedBySelf === 0, `secretlint finds ${missedBySelf} secret(s) left after redaction`);

  // What redaction costs per audit record: the whole corpus, and an 8 KB JSON body like a list result.
  const listBody = JSON.stringify({
    accounts: Array.from({ length: 40 }, (_, i) => ({
      id: `/subscriptions/6f1c0c1e-1c1a-4b53-9d55-0a4c1f0e${String(i).padStart(4, '0')}/resourceGroups/rg-ddr-records-prod-uks/providers/Microsoft.Storage/storageAccounts/stddr${i}`,
      location: 'uksouth',
      tags: { owner: 'records-platform@ddr.gov.uk', notes: 'migrated in 2023' },
    })),
  });
  // The fastest of several rounds: the machine is shared, and the slower rounds measure the neighbours.
  const timeIt = (label: string, run: () => void, records: number): void => {
    run();
    let best = Infinity;
    for (let round = 0; round < 15; round++) {
      const started = process.hrtime.bigint();
      run();
      best = Math.min(best, Number(process.hrtime.bigint() - started) / 1000 / records);
    }
    console.log(`${label.padEnd(28)} ${best.toFixed(1)} µs per record`);
  };
  timeIt('cost: corpus items', () => items.forEach((item) => redact(item.input)), items.length);
  timeIt(`cost: ${Math.round(listBody.length / 1024)} KB list body`, () => redactValue(JSON.parse(listBody)), 1);
}

evaluateShield();
await evaluateRedaction();
if (failures.length > 0) {
  console.log(`\nBELOW TARGET: ${failures.join('; ')}`);
  process.exitCode = 1;
} else {
  console.log('\nAll targets met.');
}
