import { LinearRegex } from '../text/linear-regex.js';

/**
 * Offline heuristics for text that addresses an AI agent rather than a human reader: instructions to ignore
 * prior guidance, impersonated chat roles, requests to call tools, mass-destructive requests, secrecy and
 * exfiltration. They flag; they never block (the policy and the approval gate do that). Patterns run on a
 * normalised copy (NFKC, lower case, single spaces) so look-alike letters and spacing tricks do not hide them.
 */
export type InjectionKind =
  | 'instruction_override'
  | 'addressed_to_ai'
  | 'role_impersonation'
  | 'tool_invocation'
  | 'destructive_request'
  | 'secrecy_request'
  | 'exfiltration_request'
  | 'jailbreak_attempt';

// On re2js: linear whatever the text (in V8, `^\s*` over a run of blank lines or `#{2,}` over a run of hashes is
// quadratic, and these run on blob content up to 1 MiB).
const PATTERNS: [InjectionKind, LinearRegex][] = [
  [
    'instruction_override',
    new LinearRegex(/\b(ignore|disregard|forget|override|bypass)\b.{0,40}?\b(previous|prior|above|earlier|preceding|all|your|safety|system)\b.{0,30}?\b(instructions?|prompts?|rules?|directions?|guidelines?|guardrails?|context)\b|\bnew (instructions?|rules|task)\s*:|\b(from now on|instead),? (you|the assistant) (will|must|should)\b/),
  ],
  [
    'instruction_override',
    // Common short forms, and the same in German, French and Spanish (injection corpora are not English-only).
    new LinearRegex(/\bignore (the |all of the |everything )?(above|before|previous)\b|\bforget (everything|all|what)\b.{0,30}?\b(before|above|previous(ly)?|said|told)\b|\bstop[.:!]? +new task\b|\b(vergiss|ignoriere)\b.{0,30}?\b(alles|anweisungen|vorherigen|obigen)\b|\bignore[zr]? (toutes )?les instructions\b|\boublie[z]? (tout|les instructions)\b|\b(ignora|olvida)\b.{0,20}?\binstrucciones\b/),
  ],
  [
    'jailbreak_attempt',
    new LinearRegex(/\b(reveal|print|show|repeat|output|leak|tell me)\b.{0,20}?\b(your|the)\b.{0,15}?\b(system prompt|initial (prompt|instructions)|hidden (prompt|instructions)|instructions above|password|secret key)\b|\byou are now\b.{0,30}?\b(dan|unrestricted|jailbroken|developer mode|free of|no longer bound)\b|\bdo anything now\b|\bjailbr(eak|oken)\b|\bdeveloper mode\b|\bpretend (to be|you are|that you)\b|\bact as (an? )?(unrestricted|unfiltered|jailbroken|evil|rogue)\b/),
  ],
  [
    'addressed_to_ai',
    new LinearRegex(/\b(note|message|instructions?|attention|reminder)\s+(to|for)\s+(the\s+|any\s+|all\s+)?(ai|a\.i\.|llms?|assistants?|agents?|copilots?|chatbots?|models?|language models?)\b|\b(dear|hey|hello)\s+(ai|assistant|agent|copilot|claude|chatgpt)\b|\bas an ai\b|^(ai|assistant|agent)\s*[:,]/m),
  ],
  [
    'role_impersonation',
    new LinearRegex(/^\s*(system|assistant|developer|tool)\s*:|<\|?\s*(system|im_start|im_end|endoftext)\s*\|?>|\[\/?(inst|sys)\]|<<\/?sys>>|#{2,}\s*(system|instruction)|<\/?(system|instructions?)>|\bsystem (note|prompt|message|override)\b/m),
  ],
  [
    'tool_invocation',
    new LinearRegex(/\b(call|run|invoke|execute|trigger|use)\b.{0,30}?\b([a-z]+_[a-z]+(_[a-z]+)*|the tools?|a tool|tool calls?|function calls?)\b|\b[a-z]+_[a-z]+_(delete|create|upload|rotate|enable)\b/),
  ],
  [
    'destructive_request',
    new LinearRegex(/\b(delete|remove|destroy|wipe|purge|drop|erase|terminate|disable)\b.{0,40}?\b(all|every|each|entire|whole)\b.{0,40}?\b(storage|accounts?|resources?|resource groups?|groups?|vaults?|keys?|vms?|virtual machines?|data|blobs?|containers?|backups?|subscriptions?|logs?)\b/),
  ],
  ['secrecy_request', new LinearRegex(/\b(do not|don't|never)\s+(tell|inform|mention|alert|notify|show|reveal)\b.{0,40}?\b(user|human|operator|admin|anyone|reviewer)\b/)],
  [
    'exfiltration_request',
    new LinearRegex(/\b(send|post|upload|forward|exfiltrate|email|copy)\b.{0,60}?\b(tokens?|secrets?|keys?|passwords?|credentials?|connection strings?|sas)\b.{0,60}?\b(to|at)\b|\b(send|post|upload|forward)\b.{0,40}?https?:\/\//),
  ],
];

export function detectInjection(text: string): InjectionKind[] {
  // linear: one character class repeated, nothing after it: each attempt fails at once or consumes a whole run.
  const normalised = text.normalize('NFKC').toLowerCase().replace(/[^\S\n]+/g, ' ');
  return [...new Set(PATTERNS.filter(([, pattern]) => pattern.test(normalised)).map(([kind]) => kind))];
}
