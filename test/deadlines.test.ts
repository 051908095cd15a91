import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { HTTP_TRIGGER_LIMIT_MS, longestRequestMs, maxLroTimeoutMs } from '../shared/config/deadlines.js';
import { loadSettings, SettingsError } from '../shared/config/settings.js';
import { startAppProcess } from '../dev/app-process.js';
import { REQUIRED_SETTINGS as REQUIRED } from './helpers/settings.js';

/**
 * The deadlines agree: Azure's front end ends an HTTP request after 230 s, and the Functions host stops a function
 * at host.json's functionTimeout. A long-running tool (creating a storage account) must reach the end of its own
 * deadline, clean up what a failed create left, and write its audit record before either — so the defaults fit,
 * functionTimeout lies above the limit, and a setting that could not fit stops the app at start.
 */

/** host.json's functionTimeout ("hh:mm:ss") in ms. */
function functionTimeoutMs(): number {
  const host = JSON.parse(readFileSync('host.json', 'utf8')) as { functionTimeout?: string };
  const match = /^(\d{2}):(\d{2}):(\d{2})$/.exec(host.functionTimeout ?? '');
  if (!match) throw new Error(`host.json functionTimeout is not hh:mm:ss: ${host.functionTimeout}`);
  return ((Number(match[1]) * 60 + Number(match[2])) * 60 + Number(match[3])) * 1000;
}

/** local.settings.sample.json's value of a setting. */
function sampleValue(name: string): string | undefined {
  return (JSON.parse(readFileSync('local.settings.sample.json', 'utf8')) as { Values: Record<string, string> }).Values[name];
}

describe('deadlines', () => {
  it("host.json's functionTimeout lies above Azure's 230 s HTTP limit, so the host never stops a request the app still bounds", () => {
    expect(functionTimeoutMs()).toBeGreaterThan(HTTP_TRIGGER_LIMIT_MS);
  });

  it('with the default settings, the longest tool call (operation, clean-up, audit) ends before the HTTP limit and functionTimeout', () => {
    const settings = loadSettings(REQUIRED);
    const longest = longestRequestMs(settings);
    expect(longest).toBeLessThanOrEqual(HTTP_TRIGGER_LIMIT_MS);
    expect(longest).toBeLessThan(functionTimeoutMs());
    // The clean-up after a failed create (two calls with the call deadline) fits after the operation's own deadline.
    expect(settings.azureLroTimeoutMs + 2 * settings.azureCallTimeoutMs).toBeLessThan(HTTP_TRIGGER_LIMIT_MS);
  });

  it('local.settings.sample.json holds the defaults, which fit', () => {
    const defaults = loadSettings(REQUIRED);
    expect(Number(sampleValue('AZURE_LRO_TIMEOUT_MS'))).toBe(defaults.azureLroTimeoutMs);
    expect(Number(sampleValue('AZURE_CALL_TIMEOUT_MS'))).toBe(defaults.azureCallTimeoutMs);
    expect(Number(sampleValue('AZURE_TOKEN_TIMEOUT_MS'))).toBe(defaults.azureTokenTimeoutMs);
  });

  it('refuses an LRO timeout that cannot fit, naming the setting and the largest that would', () => {
    const limit = maxLroTimeoutMs({ azureCallTimeoutMs: 30_000, azureTokenTimeoutMs: 10_000 });
    expect(loadSettings({ ...REQUIRED, AZURE_LRO_TIMEOUT_MS: String(limit) }).azureLroTimeoutMs).toBe(limit);
    for (const lro of [limit + 1, 300_000]) {
      expect(() => loadSettings({ ...REQUIRED, AZURE_LRO_TIMEOUT_MS: String(lro) })).toThrow(SettingsError);
      expect(() => loadSettings({ ...REQUIRED, AZURE_LRO_TIMEOUT_MS: String(lro) })).toThrow(
        new RegExp(`AZURE_LRO_TIMEOUT_MS: ${lro} ms does not fit .* use at most ${limit} ms`),
      );
    }
    // A longer call deadline leaves less room for the operation: the same LRO timeout no longer fits.
    expect(() => loadSettings({ ...REQUIRED, AZURE_LRO_TIMEOUT_MS: String(limit), AZURE_CALL_TIMEOUT_MS: '40000' })).toThrow(/AZURE_LRO_TIMEOUT_MS/);
  });

  it('the app, started as npm start starts it, refuses to run with the old 5-minute LRO timeout and says why', async () => {
    await expect(
      startAppProcess(
        {
          ...REQUIRED,
          AUTH_ISSUER: 'https://127.0.0.1:1/tenant/v2.0',
          AUTH_JWKS_URI: 'https://127.0.0.1:1/keys',
          AZURE_LRO_TIMEOUT_MS: '300000',
        },
        { timeoutMs: 50_000 },
      ),
    ).rejects.toThrow(/AZURE_LRO_TIMEOUT_MS: 300000 ms does not fit Azure's 230 s limit/);
  }, 60_000);
});
