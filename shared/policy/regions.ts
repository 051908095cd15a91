/**
 * Azure accepts region names in several spellings ("UK South", "uksouth"); policy compares the canonical one.
 * Only case and spaces are forgiven: anything else (hyphens, look-alike letters, invisible characters) stays as
 * given, matches no allowed region and is refused. Tools pass the canonical name to Azure, never the raw input.
 */
export function canonicalRegion(raw: string): string {
  // linear: one character repeated, nothing after it: each attempt fails at once or consumes a whole run.
  return raw.trim().toLowerCase().replace(/ +/g, '');
}
