import { describe, expect, it } from '@jest/globals';
import { auditedBody } from '../shared/audit/body.js';

/**
 * What an outside attempt got past the audit's redaction (issue 12), fed through the audit body exactly as a
 * request or response body reaches it: as JSON and as plain text. None of the secret may survive.
 */
// A storage account key is 64 bytes, 88 characters of base64.
const KEY = Buffer.from(Array.from({ length: 64 }, (_, i) => (i * 37 + 11) % 256)).toString('base64');
const SIG = 'f9Tq2XkA7wZ3mN0vB8yR5cL1dH6sJ4gP0eU2iO7tK9a=';
const leaks: [string, string, string[]][] = [
  [
    'a SAS whose sig comes first',
    `https://stddrrecords.blob.core.windows.net/c/b.pdf?sig=${encodeURIComponent(SIG)}&sv=2022-11-02&sp=r&se=2030-01-01`,
    [SIG, encodeURIComponent(SIG)],
  ],
  [
    'a SAS URL percent-encoded whole',
    encodeURIComponent(`https://stddrrecords.blob.core.windows.net/c/b.pdf?sv=2022-11-02&SIG=${SIG}`),
    [SIG, encodeURIComponent(SIG)],
  ],
  ['AccountKey = "…"', `AccountKey = "${KEY}"`, [KEY]],
  ['AccountKey: …', `AccountKey: ${KEY}`, [KEY]],
  ['an account key split over two lines', `AccountKey=${KEY.slice(0, 50)}\n${KEY.slice(50)}`, [KEY.slice(0, 50), KEY.slice(50)]],
  ['an account key without padding', `key ${KEY.slice(0, 86)} rotated`, [KEY.slice(0, 86)]],
  [
    'a PEM private key with no END line',
    `-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\n${KEY}`,
    ['MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7'],
  ],
  ['a GitHub token', 'push with ghp_R2d4X9kLm0Qw3Ez7Ty1Ui8Op5As6Df2Gh4Jk', ['ghp_R2d4X9kLm0Qw3Ez7Ty1Ui8Op5As6Df2Gh4Jk']],
  ['an NI number written QQ-12-34-56-C', 'National Insurance QQ-12-34-56-C', ['QQ-12-34-56-C']],
  ['a name after Applicant:', 'Applicant: Rhiannon Evans\nCase: CASE-20410', ['Rhiannon Evans']],
  ['an Entra client secret', 'secret created: Abc8Q~xY1zW2vU3tS4rQ5pO6nM7lK8jI9hG0fE1dC', ['Abc8Q~xY1zW2vU3tS4rQ5pO6nM7lK8jI9hG0fE1dC']],
  // Decoded as a whole text, `note: password=…` is one pair whose name is not a secret's, and hides the one inside.
  ['an encoded password after a label', 'note: password%3DZq4u8Rk2Lw6Yp1Ns', ['Zq4u8Rk2Lw6Yp1Ns']],
  ['an encoded password among thousands of short encoded runs', `${'%a%a5 '.repeat(1_000)}note: password%3DZq4u8Rk2Lw6Yp1Ns`, ['Zq4u8Rk2Lw6Yp1Ns']],
];

describe('audit redaction of what got through before', () => {
  it.each(leaks)('removes %s from a text body', (_label, text, secrets) => {
    const kept = auditedBody(text).text;
    for (const secret of secrets) expect(kept).not.toContain(secret);
  });

  it.each(leaks)('removes %s from a JSON body', (_label, text, secrets) => {
    const kept = auditedBody(JSON.stringify({ params: { arguments: { notes: text } } })).text;
    for (const secret of secrets) expect(kept).not.toContain(secret);
  });

  it.each(['x-api-key', 'access-token', 'ocp-apim-subscription-key', 'pwd', 'X_Functions_Key', 'clientSecret'])(
    'drops the value of a field named %s',
    (name) => {
      const kept = auditedBody(JSON.stringify({ headers: { [name]: 'Zq4u8Rk2Lw6Yp1Ns' } })).text;
      expect(kept).not.toContain('Zq4u8Rk2Lw6Yp1Ns');
      expect(JSON.parse(kept)).toEqual({ headers: { [name]: '[REDACTED]' } });
    },
  );

  it('keeps look-alikes that are not secrets: ids, hashes, versions, times, and names about keys', () => {
    const body = {
      id: '/subscriptions/6f1c0c1e-1c1a-4b53-9d55-0a4c1f0e0001/resourceGroups/rg-ddr-records-prod-uks/providers/Microsoft.Storage/storageAccounts/stddrrecords',
      correlationId: '0b7f3c2e-51a4-4d0e-9a61-3f2b8c9d1e47',
      sha256: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
      version: '12.32.0',
      createdOn: '2025-03-14T09:30:00.0000000Z',
      keys: [{ keyName: 'key1', keySize: 2048, tokenExpiry: '2025-03-14T10:30:00Z', secretVersion: 'a1b2c3' }],
      continuationToken: 'cmVjb3Jkcy1leHBvcnQtMjAyNS5jc3Y=',
    };
    expect(JSON.parse(auditedBody(JSON.stringify(body)).text)).toEqual(body);
  });

  it('keeps ids whose digit groups look like a short phone number, and still masks UK numbers', () => {
    // An approval id with two all-digit groups, the first starting with 0: eight digits, too short for a UK number.
    const approvalId = '6bb813ce-0123-4567-bda9-f2973122c33b';
    const message = `Approve it at https://app.example/approvals/${approvalId} then repeat the call with approvalId "${approvalId}".`;
    const kept = auditedBody(JSON.stringify({ message })).text;
    expect(kept).not.toContain('[phone]');
    expect(kept.split(approvalId)).toHaveLength(3);
    for (const phone of ['07700 900123', '+44 7700 900456', '(020) 7946 0018', '029 2018 0123', '+44 (0)20 7946 0018', '0800 123 456']) {
      expect(auditedBody(JSON.stringify({ note: `Call ${phone} today` })).text).not.toContain(phone);
    }
  });

  it('keeps a GUID whose last group is twelve digits from a 0, and masks a number beside it', () => {
    // One random correlation id in a few thousand looks like this; its last group alone reads as a UK number.
    const correlationId = '74b11ad5-d625-4568-a32e-071234567890';
    const kept = auditedBody(JSON.stringify({ error: { correlationId, note: 'Call 07700 900123 today' } })).text;
    expect(kept).toContain(correlationId);
    expect(kept).not.toContain('07700 900123');
    expect(kept).toContain('[phone]');
  });
});
