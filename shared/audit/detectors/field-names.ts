/**
 * Whether a field's name says its value is a secret (`x-api-key`, `accessToken`, `Ocp-Apim-Subscription-Key`,
 * `pwd`, `SECRET_KEY`, `client secret`) or personal data (`dateOfBirth`, `niNumber`, `postcode`). The name is split
 * into words at any separator or case change and judged by its last word, so metadata about a secret (`keyName`,
 * `keySize`, `tokenExpiry`, `secretVersion`, `credentialType`) is kept: its last word is not a secret. Paging
 * cursors (`continuationToken`, `nextPageToken`) are not credentials.
 */
import { boundedMemo } from '../../runtime/bounded-memo.js';

const SECRET_WORDS = new Set([
  'key',
  'keys',
  'secret',
  'secrets',
  'token',
  'tokens',
  'password',
  'passwd',
  'pwd',
  'pass',
  'passphrase',
  'sig',
  'signature',
  'credential',
  'credentials',
  'auth',
  'authorization',
  'cookie',
  'apikey',
  'sas',
  'sastoken',
  'connectionstring',
  'privatekey',
  'secretkey',
  'accesskey',
]);
const CURSOR_WORDS = new Set(['continuation', 'page', 'next', 'sync', 'paging', 'resume']);
const PERSONAL_NAMES = new Set([
  'email',
  'emailaddress',
  'mail',
  'phone',
  'phonenumber',
  'mobile',
  'telephone',
  'tel',
  'ninumber',
  'nino',
  'nationalinsurancenumber',
  'nhsnumber',
  'postcode',
  'postalcode',
  'zipcode',
  'dateofbirth',
  'dob',
  'birthdate',
  'fullname',
  'firstname',
  'lastname',
  'surname',
  'givenname',
  'familyname',
  'address',
  'homeaddress',
  'streetaddress',
]);

function words(name: string): string[] {
  return (
    name
      // linear: two single characters (fixed width); then one negated class run, which ends at the first letter or digit (no retry).
      .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
      .toLowerCase()
      .split(/[^a-z0-9]+/)
      .filter((word) => word !== '')
  );
}

function classifySecret(name: string): boolean {
  const parts = words(name.slice(0, 100));
  const last = parts.at(-1);
  if (!last) return false;
  if (last === 'token' && parts.some((word) => CURSOR_WORDS.has(word))) return false;
  if (SECRET_WORDS.has(last)) return true;
  // `connection_string`, `private_key_pem`, `client_secret_value`: the secret noun a word earlier.
  const joined = parts.join('');
  // linear: literal words, an optional literal, then the end: at most 21 characters tried from each start.
  return /(?:connectionstring|privatekey|clientsecret|password)(?:value|pem)?$/.test(joined);
}

function classifyPersonalData(name: string): boolean {
  return PERSONAL_NAMES.has(words(name.slice(0, 100)).join(''));
}

// Field names repeat in every record and tool output: each name's answer is remembered (bounded, ../../runtime/bounded-memo.ts).
const FIELD_NAME_MEMORY = { maxEntries: 2048, maxLength: 128 };

/** Whether a field's name says it holds a secret (`password`, `clientSecret`, `connection_string`, `sasToken`…). */
export const namesSecret = boundedMemo(classifySecret, FIELD_NAME_MEMORY);

/** Whether a field's name says it holds personal data (`email`, `phoneNumber`, `dateOfBirth`, `address`…). */
export const namesPersonalData = boundedMemo(classifyPersonalData, FIELD_NAME_MEMORY);

const METADATA_WORDS = new Set([
  'name',
  'names',
  'size',
  'type',
  'kind',
  'expiry',
  'expires',
  'expiration',
  'version',
  'id',
  'uri',
  'url',
  'permissions',
  'created',
  'updated',
  'enabled',
  'length',
  'algorithm',
  'source',
  'count',
  'lifetime',
  'policy',
  'time',
  'date',
  'on',
  'at',
  'in',
  'minutes',
  'seconds',
  'days',
]);

function classifyMetadata(name: string): boolean {
  const last = words(name.slice(0, 100)).at(-1);
  return last !== undefined && METADATA_WORDS.has(last);
}

/** A field that describes a secret rather than holding it (`keyName`, `tokenExpiry`, `permissions`). */
export const namesMetadata = boundedMemo(classifyMetadata, FIELD_NAME_MEMORY);
