import { linearRegex, type LinearRegex } from '../text/linear-regex.js';
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

/** Only this much of one string is scanned (a blob read returns at most 64 KiB). */
export const INJECTION_SCAN_LIMIT = 64 * 1024;

// Lexicons, folded (lower case, no accents). Alternations of words: RE2 matches them in one pass.
const ADDRESSEE =
  '(?:\\b(?:ai|ki|ia) ?(?:assistants?|agents?|systems?|models?|helpers?|tools?|reading)\\b|\\bassistants?\\b|\\bagents?\\b|\\bcopilot\\b|\\bchatbots?\\b|\\bbots\\b|' +
  '\\blanguage models?\\b|\\bllms?\\b|\\bthe model\\b|\\bautomated (?:systems?|agents?|processes|tooling|readers?)\\b|\\bautomated\\b.{0,20}\\breader\\b|' +
  '(?:^|\\bdear |\\bhey |\\bnote to |\\bmessage to |\\bfor |\\bto )ai\\b|\\bai ?[:,]|\\bif you are an? (?:ai|automated|language model)|' +
  // Welsh, French, German, Spanish, Polish
  '\\b[cg]ynorthwy\\w*|\\bsystemau awtomataidd\\b|\\basiant(?:au)? ai\\b|\\bmodel iaith\\b|' +
  '\\bagent ia\\b|\\bsystemes automatises\\b|\\bmodele de langage\\b|' +
  '\\bki-(?:assistent|agent)\\w*|\\bassistent\\w*|\\bautomatisierte systeme\\b|' +
  '\\basistente\\b|\\bagente de ia\\b|\\bsistemas automatizados\\b|' +
  '\\basystent\\w*|\\bagenci\\w* ai\\b|\\bsystemy automatyczne\\b)';

const DELETE =
  '\\b(?:delete|remove|erase|purge|destroy|wipe|drop|tear down|decommission|clean up|get rid of|dilew\\w*|d?dileu\\w*|ddilew\\w*|supprime[rz]?|efface[rz]?|detrui\\w*|losche\\w*|entferne\\w*|elimina\\w*|borra\\w*|usun\\w*)\\b';
const PERMISSION =
  '(?:\\b(?:grant|give|assign|add|elevate|make|set|change|turn off|disable|remove|allow)\\b.{0,80}?\\b(?:owner|contributor|administrator|admin|roles?|access polic\\w*|permissions?|publicly|public|anonymous|firewall|mfa|locks?|network access|shared key|access)\\b|' +
  '\\brhowch rol\\b|\\bnewidiwch y caniatad\\b|\\baccorde[rz]? le role\\b|\\bweise\\b.{0,60}\\brolle\\b|\\bconcede el rol\\b|\\bnadaj\\w* role\\b)';
const TOOL =
  '(?:\\b(?:run|call|invoke|execute|trigger|use)\\b.{0,60}?\\b(?:tools?|functions?|[a-z]+_[a-z_]+)\\b|\\brhedwch yr offeryn\\b|\\bexecutez l.outil\\b|\\bfuhre\\b.{0,60}\\bwerkzeug\\b|\\bejecuta la herramienta\\b|\\buruchom narzedzie\\b)';
const SECRET_NOUN =
  '\\b(?:tokens?|secrets?|keys?|passwords?|credentials?|connection strings?|sas(?: tokens?| urls?)?|signatures?|environment variables|private key|' +
  'tocyn\\w*|allwedd\\w*|cyfrinach\\w*|cyfrinair|llinyn cysylltu|jetons?|cles|mots? de passe|zugriffstoken|schlussel\\w*|geheimnisse|passworter|claves|secretos|contrasenas|klucze|sekrety|hasla)\\b';
const HANDOVER =
  '\\b(?:send|post(?:ing)?|upload|forward|e-?mail (?:the|all|any|your|it|them|every)|copy|read|paste|print|include|write|reply with|put|share|dump|append|export|list|reveal|give me|' +
  'anfonwch|[cg]opio|gludwch|envoye[rz]|copie[rz]|colle[rz]|sende[nt]?|kopiere[nt]?|envi\\w*|copia\\w*|wysl\\w*|skopiuj\\w*)\\b';
const EXFIL = `${HANDOVER}.{0,100}?${SECRET_NOUN}`;

const flat = (source: string) => linearRegex(source);
const lines = (source: string) => linearRegex(source, 'm');

interface Rule {
  kind: InjectionKind;
  detector: InjectionDetector;
  pattern: LinearRegex;
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
      '\\b(?:ignore|disregard|forget|override|bypass|suspend\\w*)\\b.{0,40}?\\b(?:previous|prior|above|earlier|preceding|all|your|safety|system)\\b.{0,30}?\\b(?:instructions?|prompts?|rules?|directions?|guidelines?|guardrails?|guidance|context)\\b|' +
        '\\b(?:disregard|ignore|forget) (?:the|your|all) (?:guidance|instructions|rules)\\b.{0,40}\\b(?:given|told|received)\\b|' +
        '\\bnew (?:instructions?|rules|task)\\s*:|\\b(?:from now on|instead),? (?:you|the assistant) (?:will|must|should)\\b|\\byour (?:new|real) (?:task|instructions)\\b|' +
        '\\b(?:previous|prior) guardrails\\b|\\binstructions above were a test\\b|\\bignore (?:the |all of the |everything )?(?:above|before|previous)\\b|' +
        '\\bforget (?:everything|all|what)\\b.{0,30}?\\b(?:before|above|previous(?:ly)?|said|told)\\b|\\bstop[.:!]? +new task\\b|' +
        // Welsh, German, French, Spanish, Polish
        '\\b(?:anwybydd\\w*|diystyr\\w*|anghofi\\w*)\\b.{0,40}\\b(?:cyfarwydd\\w*|rheolau)\\b|\\beich tasg newydd\\b|' +
        '\\b(?:vergiss|ignoriere)\\w*\\b.{0,30}?\\b(?:alles|anweisungen|vorherigen|obigen|regeln)\\b|\\bdeine neue aufgabe\\b|' +
        '\\b(?:ignore[zr]?|oublie[zr]?)\\b.{0,20}\\b(?:les instructions|les consignes|toutes les instructions)\\b|\\bvotre nouvelle tache\\b|' +
        '\\b(?:ignora|olvida)\\b.{0,20}?\\binstrucciones\\b|\\btu nueva tarea\\b|' +
        '\\b(?:zignoruj|zapomnij)\\b.{0,30}\\b(?:instrukcje|polecenia\\w*|poleceniach)\\b|\\btwoje nowe zadanie\\b',
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
      '\\b(?:note|message|instructions?|attention|reminder)\\s+(?:to|for)\\s+(?:the\\s+|any\\s+|all\\s+)?(?:ai|a\\.i\\.|llms?|assistants?|agents?|copilots?|chatbots?|models?|language models?)\\b|' +
        '\\b(?:dear|hey|hello)\\s+(?:ai|assistant|agent|copilot|claude|chatgpt)\\b|\\bas an ai\\b|^(?:ai|assistant|agent)\\s*[:,]',
    ),
    byLine: true,
  },
  {
    kind: 'role_impersonation',
    detector: 'phrase',
    pattern: lines(
      '^\\s*(?:system|assistant|developer|tool)\\s*:|<\\|?\\s*(?:system|im_start|im_end|endoftext)\\s*\\|?>|\\[/?(?:inst|sys)\\]|<</?sys>>|#{2,}\\s*(?:system|instruction)|</?(?:system|instructions?)>|\\bsystem (?:note|prompt|message|override|instruction)\\b',
    ),
    byLine: true,
  },
  {
    kind: 'secrecy_request',
    detector: 'phrase',
    pattern: flat(
      "\\b(?:do not|don't|never)\\s+(?:tell|inform|mention|alert|notify|show|reveal)\\b.{0,40}?\\b(?:user|human|operator|admin|anyone|reviewer)\\b|" +
        '\\bwithout (?:notifying|telling|informing|alerting)\\b.{0,20}\\b(?:user|reviewer|operator|person|anyone)\\b|\\bkeep this between us\\b|' +
        '\\bpeidiwch a dweud wrth y defnyddiwr\\b|\\bne dites pas a l.utilisateur\\b|\\bsag\\w* dem benutzer nicht\\b|\\bno le digas al usuario\\b|\\bnie mow uzytkownikowi\\b',
    ),
  },
  {
    kind: 'destructive_request',
    detector: 'phrase',
    pattern: flat(
      '\\b(?:delete|remove|destroy|wipe|purge|drop|erase|terminate|disable)\\b.{0,40}?\\b(?:all|every|each|entire|whole)(?: [a-z-]+){0,2}? (?:storage|accounts?|resources?|resource groups?|groups?|vaults?|keys?|vms?|virtual machines?|blobs?|containers?|backups?|subscriptions?|logs?)\\b',
    ),
  },
  { kind: 'destructive_request', detector: 'addressed-request', pattern: flat(`${ADDRESSEE}.{0,200}?${DELETE}`) },
  { kind: 'permission_change', detector: 'addressed-request', pattern: flat(`${ADDRESSEE}.{0,200}?${PERMISSION}`) },
  { kind: 'tool_invocation', detector: 'addressed-request', pattern: flat(`${ADDRESSEE}.{0,200}?${TOOL}`) },
  { kind: 'exfiltration_request', detector: 'addressed-request', pattern: flat(`${ADDRESSEE}.{0,200}?(?:${EXFIL}|${SECRET_NOUN}.{0,60}?${HANDOVER})`) },
  {
    kind: 'exfiltration_request',
    detector: 'exfiltration-destination',
    pattern: flat(`${EXFIL}.{0,80}?(?:https?://|\\b[a-z0-9._%+-]+@[a-z0-9-]+\\.[a-z]|\\bwebhook|\\bthis (?:ticket|tag|blob|page)\\b|\\ba comment\\b|\\byour (?:reply|answer|summary)\\b|\\bpublic\\b)|\\bexfiltrate\\b`),
    unlessNegated: true,
  },
  {
    kind: 'tool_invocation',
    detector: 'mutating-tool-name',
    pattern: flat(
      '\\b(?:call|run|invoke|execute|trigger)\\b.{0,30}?\\b[a-z]+_[a-z_]*(?:delete|create|upload|rotate|enable|disable|write|grant|restart|run_command|update|purge)\\b|\\b[a-z]+_[a-z]+_(?:delete|create|upload|rotate|enable)\\b',
    ),
  },
];

/**
 * "Do not email passwords to anyone", "you may disregard the earlier instructions": advice to a person. Run on the
 * 40 characters before a match only, so its cost is bounded whatever the pattern does.
 */
const NEGATION_BEFORE = /(?:\b(?:not|never|don't|no|peidiwch|byth|ne|nicht|nie|nunca)\b|\byou (?:may|can)\b)[^.!?\n]{0,24}$/;

/** Kinds found in a text (all views, all detectors). */
export function detectInjection(text: string): InjectionKind[] {
  return [...new Set(findInjection(text).map((finding) => finding.kind))];
}

export function findInjection(text: string): InjectionFinding[] {
  const findings: InjectionFinding[] = [];
  const seen = new Set<string>();
  for (const view of textViews(text.slice(0, INJECTION_SCAN_LIMIT))) {
    const byLine = foldForMatching(view.text).replace(/[^\S\n]+/g, ' ');
    const oneLine = byLine.replace(/\s+/g, ' ');
    for (const rule of RULES) {
      const subject = rule.byLine ? byLine : oneLine;
      const hit = rule.unlessNegated
        ? rule.pattern.matches(subject).some((match) => !NEGATION_BEFORE.test(subject.slice(Math.max(0, match.index - 40), match.index)))
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
