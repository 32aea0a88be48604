// Log redaction. Known secrets (tokens, keys, the admin token) are registered as they are read;
// anything shaped like a bearer credential, a JWT or a provider key is masked too, so a secret
// the host never registered still does not reach the output channel.

import { scanText } from './scanner';

const jwtShape = /\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\b/g;
const bearer = /\b(Bearer|x-api-key:?)\s+[^\s"',]{8,}/gi;

export class Redactor {
  private readonly secrets = new Set<string>();

  /** Registers a value that must never be printed. Short values are ignored (they would mask ordinary text). */
  add(secret: string | undefined): void {
    if (secret && secret.length >= 8) this.secrets.add(secret);
  }

  remove(secret: string | undefined): void {
    if (secret) this.secrets.delete(secret);
  }

  redact(text: string): string {
    let out = text;
    for (const s of this.secrets) if (out.includes(s)) out = out.split(s).join('[redacted]');
    out = out.replace(jwtShape, '[redacted-jwt]').replace(bearer, (_m, scheme: string) => `${scheme} [redacted]`);
    // The scanner knows every provider's key shape; replace from the end so offsets stay valid.
    const findings = scanText(out);
    for (let i = findings.length - 1; i >= 0; i--) {
      const f = findings[i]!;
      out = out.slice(0, f.offset) + f.redacted + out.slice(f.endOffset);
    }
    return out;
  }
}
