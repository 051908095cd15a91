import { allAtOnce, type Steps } from '../runtime/stepwise.js';
import { boundedRegex, type BoundedRegex } from './bounded-regex.js';
import { foldForMatching } from './fold.js';
import { textViews, type ViewSource } from './views.js';

/**
 * Offline heuristics for text that addresses an AI agent rather than a human reader. They flag; they never block
 * (the policy and the approval gate do that). Every view of the text (itself, its HTML/Markdown comments and alt
 * text, and base64/hex/percent-encoded runs decoded) is folded (compatibility forms, accents, look-alike letters,
 * case) and its spacing and line breaks collapsed, then matched with linear-time patterns:
 * - `phrase`: known injection phrasing (override, impersonated roles, jailbreaks, secrecy), in English, Welsh,
 *   French, German, Spanish and Polish;
 * - `addressed-request`: the shape of an injection: words addressed to an AI, assistant, agent or automated system,
 *   followed by a request to delete, change permissions, call a tool, or hand over tokens and secrets;
 * - `exfiltration-destination`: secrets to be sent to a URL, an address or a public place, unless negated;
 * - `mutating-tool-name`: a request to call one of our destructive tools by name.
 */
export type InjectionKind =
  | 'instruction_override'
  | 'addressed_to_ai'
  | 'role_impersonation'
  | 'tool_invocation'
  | 'destructive_request'
  | 'permission_change'
  | 'secrecy_request'
  | 'exfiltration_request'
  | 'jailbreak_attempt';

export type InjectionDetector = 'phrase' | 'addressed-request' | 'exfiltration-destination' | 'mutating-tool-name';

export interface InjectionFinding {
  kind: InjectionKind;
  detector: InjectionDetector;
  /** Where in the text it was seen: the text itself, a comment, alt text, or a decoded run. */
  via: ViewSource;
}

/** Only this much of one string is scanned (a blob read returns at most 64 KiB); see bounded-regex.ts. */
export const INJECTION_SCAN_LIMIT = 64 * 1024;

// Lexicons, folded (lower case, no accents). Alternations of words: RE2 matches them in one pass.
const ADDRESSEE =
  '(?:\\b(?:ai|ki|ia) ?(?:assistants?|agents?|systems?|models?|helpers?|tools?|reading)\\b|\\bassistants?\\b|\\bagents?\\b|\\bcopilot\\b|\\bchatbots?\\b|\\bbots\\b|' +
  '\\blanguage models?\\b|\\bllms?\\b|\\bthe model\\b|\\bautomated (?:systems?|agents?|processes|tooling|readers?|reviewers?)\\b|\\bautomated\\b.{0,20}\\breader\\b|' +
  '(?:^|\\bdear |\\bhey |\\bnote to |\\bmessage to |\\bfor |\\bto )ai\\b|\\bai ?[:,]|\\bif you are an? (?:ai|automated|language model)|' +
  // Welsh, French, German, Spanish, Polish
  '\\b[cg]ynorthwy\\w{0,24}|\\bsystemau awtomataidd\\b|\\basiant(?:au)? ai\\b|\\bmodel iaith\\b|' +
  '\\bagent ia\\b|\\bsystemes automatises\\b|\\bmodele de langage\\b|' +
  '\\bki-(?:assistent|agent|system)\\w{0,24}|\\bassistent\\w{0,24}|\\bautomatisierte systeme\\b|' +
  '\\basistente\\b|\\bagente de ia\\b|\\bsistemas automatizados\\b|' +
  '\\basystent\\w{0,24}|\\bagenci\\w{0,24} ai\\b|\\bsystemy automatyczne\\b)';

const DELETE =
  '\\b(?:delete|deletion|empty|remove|erase|purge|destroy|wipe|drop|tear down|decommission|clean up|get rid of|dilew\\w{0,24}|d?dileu\\w{0,24}|ddilew\\w{0,24}|supprime[rz]?|efface[rz]?|detrui\\w{0,24}|losche\\w{0,24}|entferne\\w{0,24}|elimina\\w{0,24}|borra\\w{0,24}|usun\\w{0,24})\\b';
const PERMISSION =
  '(?:\\b(?:grant|give|assign|add|elevate|make|set|change|turn off|disable|remove|allow)\\b.{0,80}?\\b(?:owner|contributor|administrator|admin|roles?|access polic\\w{0,24}|permissions?|publicly|public|anonymous|firewall|mfa|locks?|network access|shared key|access)\\b|' +
  '\\b(?:disable|turn off|stop|deaktivier\\w{0,24}|desactive[rz]?|desactiva\\w{0,24}|wylacz\\w{0,24})\\b.{0,40}?\\b(?:logging|diagnostic\\w{0,24}|audit\\w{0,24}|monitoring|alerts|defender|soft delete|purge protection|firewall|protokollierung|journalisation|registros?|rejestrowanie)\\b|\\b(?:firewall|protokollierung|uberwachung)\\b.{0,20}?\\bdeaktivier\\w{0,24}|' +
  '\\b(?:erlaub\\w{0,24}|autorise[rz]?|permit\\w{0,24}|zezwol\\w{0,24})\\b.{0,30}?\\b(?:alle|tous|todos|wszystkim|everyone|all)\\b|\\brhowch rol\\b|\\bnewidiwch y caniatad\\b|\\baccorde[rz]? le role\\b|\\bweise\\b.{0,60}\\brolle\\b|\\bconcede el rol\\b|\\bnadaj\\w{0,24} role\\b)';
const TOOL =
  '(?:\\b(?:run|call|invoke|execute|trigger|use)\\b.{0,60}?\\b(?:tools?|functions?|[a-z]{1,24}_[a-z_]{1,40})\\b|\\brhedwch yr offeryn\\b|\\bexecutez l.outil\\b|\\bfuhre\\b.{0,60}\\bwerkzeug\\b|\\bejecuta la herramienta\\b|\\buruchom narzedzie\\b)';
const SECRET_NOUN =
  '\\b(?:tokens?|secrets?|keys?|passwords?|credentials?|connection strings?|sas(?: tokens?| urls?)?|signatures?|environment variables|private key|' +
  'tocyn\\w{0,24}|allwedd\\w{0,24}|cyfrinach\\w{0,24}|cyfrinair|llinyn cysylltu|jetons?|cles|mots? de passe|zugriffstoken|schlussel\\w{0,24}|geheimnisse|passworter|claves|secretos|contrasenas|klucze|sekrety|hasla)\\b';
const HANDOVER =
  '\\b(?:send|post(?:ing)?|upload|forward|e-?mail (?:the|all|any|your|it|them|every)|copy|read|paste|print|include|write|reply with|put|share|dump|append|export|list|reveal|give me|' +
  'anfonwch|[cg]opio|gludwch|envoye[rz]|copie[rz]|colle[rz]|sende[nt]?|kopiere[nt]?|envi\\w{0,24}|copia\\w{0,24}|wysl\\w{0,24}|skopiuj\\w{0,24})\\b';
const EXFIL = `${HANDOVER}.{0,100}?${SECRET_NOUN}`;

const flat = (source: string) => boundedRegex(source);
const lines = (source: string) => boundedRegex(source, 'm');

interface Rule {
  kind: InjectionKind;
  detector: InjectionDetector;
  pattern: BoundedRegex;
  /** Matched on the text with its line breaks kept (anchored patterns); otherwise on one collapsed line. */
  byLine?: boolean;
  /** A match preceded closely by a negation ("do not email passwords") is advice, not a request. */
  unlessNegated?: boolean;
}

const RULES: Rule[] = [
  {
    kind: 'instruction_override',
    detector: 'phrase',
    pattern: flat(
      '\\b(?:ignore|disregard|forget|override|bypass|suspend\\w{0,24})\\b.{0,40}?\\b(?:previous|prior|above|earlier|preceding|all|your|safety|system)\\b.{0,30}?\\b(?:instructions?|prompts?|rules?|directions?|guidelines?|guardrails?|guidance|context)\\b|' +
        '\\b(?:disregard|ignore|forget) (?:the|your|all) (?:guidance|instructions|rules)\\b.{0,40}\\b(?:given|told|received)\\b|' +
        '\\bnew (?:instructions?|rules|task)\\s{0,4}:|\\b(?:from now on|instead),? (?:you|the assistant) (?:will|must|should)\\b|\\byour (?:new|real) (?:task|instructions)\\b|' +
        '\\b(?:previous|prior) guardrails\\b|\\binstructions above were a test\\b|\\bignore (?:the |all of the |everything )?(?:above|before|previous)\\b|' +
        '\\bforget (?:everything|all|what)\\b.{0,30}?\\b(?:before|above|previous(?:ly)?|said|told)\\b|\\bstop[.:!]? {1,4}new task\\b|' +
        // Welsh, German, French, Spanish, Polish
        '\\b(?:anwybydd\\w{0,24}|diystyr\\w{0,24}|anghofi\\w{0,24})\\b.{0,40}\\b(?:cyfarwydd\\w{0,24}|rheolau)\\b|\\beich tasg newydd\\b|' +
        '\\b(?:vergiss|ignoriere)\\w{0,24}\\b.{0,30}?\\b(?:alles|anweisungen|vorherigen|obigen|regeln)\\b|\\bdeine neue aufgabe\\b|' +
        '\\b(?:ignore[zr]?|oublie[zr]?)\\b.{0,20}\\b(?:les instructions|les consignes|toutes les instructions)\\b|\\bvotre nouvelle tache\\b|' +
        '\\b(?:ignora|olvida)\\b.{0,20}?\\binstrucciones\\b|\\btu nueva tarea\\b|' +
        '\\b(?:zignoruj|zapomnij)\\b.{0,30}\\b(?:instrukcje|polecenia\\w{0,24}|poleceniach)\\b|\\btwoje nowe zadanie\\b',
    ),
    unlessNegated: true,
  },
  {
    kind: 'jailbreak_attempt',
    detector: 'phrase',
    pattern: flat(
      '\\b(?:reveal|print|show|repeat|output|leak|tell me)\\b.{0,20}?\\b(?:your|the)\\b.{0,15}?\\b(?:system prompt|initial (?:prompt|instructions)|hidden (?:prompt|instructions)|instructions above|password|secret key)\\b|' +
        '\\byou are now\\b.{0,30}?\\b(?:dan|unrestricted|jailbroken|developer mode|free of|no longer bound|the tenant administrator)\\b|\\bdo anything now\\b|\\bjailbr(?:eak|oken)\\b|\\bdeveloper mode\\b|' +
        '\\bpretend (?:to be|you are|that you)\\b|\\bact as (?:an? )?(?:unrestricted|unfiltered|jailbroken|evil|rogue)\\b|\\byou are an unrestricted\\b',
    ),
  },
  {
    kind: 'addressed_to_ai',
    detector: 'phrase',
    pattern: lines(
      '\\b(?:note|message|instructions?|attention|reminder)\\s{1,4}(?:to|for)\\s{1,4}(?:the\\s{1,4}|any\\s{1,4}|all\\s{1,4})?(?:ai|a\\.i\\.|llms?|assistants?|agents?|copilots?|chatbots?|models?|language models?)\\b|' +
        '\\b(?:dear|hey|hello)\\s{1,4}(?:ai|assistant|agent|copilot|claude|chatgpt)\\b|\\bas an ai\\b|^(?:ai|assistant|agent)\\s{0,4}[:,]',
    ),
    byLine: true,
  },
  {
    kind: 'role_impersonation',
    detector: 'phrase',
    pattern: lines(
      '^\\s{0,4}(?:system|assistant|developer|tool)\\s{0,4}:|<\\|?\\s{0,4}(?:system|im_start|im_end|endoftext)\\s{0,4}\\|?>|\\[/?(?:inst|sys)\\]|<</?sys>>|#{2,8}\\s{0,4}(?:system|instruction)|</?(?:system|instructions?)>|\\bsystem (?:note|prompt|message|override|instruction)\\b',
    ),
    byLine: true,
  },
  {
    kind: 'secrecy_request',
    detector: 'phrase',
    pattern: flat(
      "\\b(?:do not|don't|never)\\s{1,4}(?:tell|inform|mention|alert|notify|show|reveal)\\b.{0,40}?\\b(?:user|human|operator|admin|anyone|reviewer)\\b|" +
        '\\bwithout (?:notifying|telling|informing|alerting)\\b.{0,20}\\b(?:user|reviewer|operator|person|anyone)\\b|\\bkeep this between us\\b|' +
        '\\bpeidiwch a dweud wrth y defnyddiwr\\b|\\bne dites pas a l.utilisateur\\b|\\bsag\\w{0,24} dem benutzer nicht\\b|\\bno le digas al usuario\\b|\\bnie mow uzytkownikowi\\b',
    ),
  },
  {
    kind: 'destructive_request',
    detector: 'phrase',
    pattern: flat(
      '\\b(?:delete|remove|destroy|wipe|purge|drop|erase|terminate|disable)\\b.{0,40}?\\b(?:all|every|each|entire|whole)(?: [a-z-]{1,24}){0,2}? (?:storage|accounts?|resources?|resource groups?|groups?|vaults?|keys?|vms?|virtual machines?|blobs?|containers?|backups?|subscriptions?|logs?)\\b',
    ),
  },
  { kind: 'destructive_request', detector: 'addressed-request', pattern: flat(`${ADDRESSEE}.{0,200}?${DELETE}`) },
  { kind: 'permission_change', detector: 'addressed-request', pattern: flat(`${ADDRESSEE}.{0,200}?${PERMISSION}`) },
  { kind: 'tool_invocation', detector: 'addressed-request', pattern: flat(`${ADDRESSEE}.{0,200}?${TOOL}`) },
  { kind: 'exfiltration_request', detector: 'addressed-request', pattern: flat(`${ADDRESSEE}.{0,200}?(?:${EXFIL}|${SECRET_NOUN}.{0,60}?${HANDOVER})`) },
  {
    kind: 'exfiltration_request',
    detector: 'exfiltration-destination',
    pattern: flat(
      `${EXFIL}.{0,80}?(?:https?://|\\b[a-z0-9._%+-]{1,64}@[a-z0-9-]{1,63}\\.[a-z]|\\bwebhook|\\bthis (?:ticket|tag|blob|page)\\b|\\ba comment\\b|\\byour (?:reply|answer|summary)\\b|\\bpublic\\b)|\\bexfiltrate\\b`,
    ),
    unlessNegated: true,
  },
  {
    kind: 'tool_invocation',
    detector: 'mutating-tool-name',
    pattern: flat(
      '\\b(?:call|run|invoke|execute|trigger)\\b.{0,30}?\\b[a-z]{1,24}_[a-z_]{0,40}(?:delete|create|upload|rotate|enable|disable|write|grant|restart|run_command|update|purge)\\b|\\b[a-z]{1,24}_[a-z]{1,24}_(?:delete|create|upload|rotate|enable)\\b',
    ),
  },
];

/**
 * "Do not email passwords to anyone", "you may disregard the earlier instructions": advice to a person. Run on the
 * 40 characters before a match only, so its cost is bounded whatever the pattern does.
 */
// linear: literal words then at most 24 of one class before the end: bounded work from each start.
const NEGATION_BEFORE = /(?:\b(?:not|never|don't|no|peidiwch|byth|ne|nicht|nie|nunca)\b|\byou (?:may|can)\b)[^.!?\n]{0,24}$/;

/** Kinds found in a text (all views, all detectors). */
export function detectInjection(text: string): InjectionKind[] {
  return [...new Set(findInjection(text).map((finding) => finding.kind))];
}

export function findInjection(text: string): InjectionFinding[] {
  return allAtOnce(injectionSteps(text));
}

/**
 * The same, a step at a time (see ../runtime/stepwise.ts): the views of 64 KiB of text, then the rules on each view.
 * On a text near the limit, making the views took 5-30 ms here and the rules about 7 ms per view.
 */
export function* injectionSteps(text: string): Steps<InjectionFinding[]> {
  const findings: InjectionFinding[] = [];
  const seen = new Set<string>();
  const views = textViews(text.slice(0, INJECTION_SCAN_LIMIT));
  // A step per 16 K characters of views: a text may make a thousand small views.
  let charsThisStep = Infinity;
  for (const view of views) {
    if (charsThisStep >= 16 * 1024) {
      charsThisStep = 0;
      yield;
    }
    charsThisStep += view.text.length;
    // linear: one class run each: a run ends at the first character outside the class and is never retried.
    const byLine = foldForMatching(view.text).replace(/[^\S\n]+/g, ' ');
    const oneLine = byLine.replace(/\s+/g, ' ');
    for (const rule of RULES) {
      const subject = rule.byLine ? byLine : oneLine;
      const hit = rule.unlessNegated
        ? rule.pattern.starts(subject).some((start) => !NEGATION_BEFORE.test(subject.slice(Math.max(0, start - 40), start)))
        : rule.pattern.test(subject);
      const key = `${rule.kind}/${rule.detector}/${view.via}`;
      if (hit && !seen.has(key)) {
        seen.add(key);
        findings.push({ kind: rule.kind, detector: rule.detector, via: view.via });
      }
    }
  }
  return findings;
}
