// Signing in: what the editor does when it does not know who the developer is (no `tollgate.user`,
// no `git config user.email`, no identity-provider token). It asks at once, with a notification
// that offers an address or a token, checks the answer before keeping it, and resumes the session
// without a reload. The adapter (src/extension/sign-in.ts) supplies the notification, the input
// boxes and the storage; every decision is here.

import { SIGN_IN_COMMAND } from '../../contracts/command-titles';
import type { Policy } from '../../engine/policy/model';
import { IdentityError } from '../../engine/identity/identity';
import { TokenVerifier } from '../../engine/identity/tokens';
import type { KeyObject } from 'node:crypto';
import type { ProxyPhase } from '../../protocol';
import type { StatusView } from '../../views/status-model';

/**
 * What the editor knows about the developer's identity: not yet asked, a token, nothing to mint
 * one from, or signed out (the person signed out, or the window's token was revoked) until the
 * person signs in again.
 */
export type IdentityState = 'unknown' | 'signed-in' | 'missing' | 'signed-out';

/** Whether the terminals wait for a sign-in (they get the placeholder, the status bar says so). */
export function needsSignIn(state: IdentityState): boolean {
  return state === 'missing' || state === 'signed-out';
}

/** Where the flow is: `asking` while the notification or an input box is open. */
export type SignInPhase = IdentityState | 'asking';

export type SignInOutcome = 'signed-in' | 'dismissed' | 'still-missing' | 'already-asking';

export const USE_ADDRESS = 'Use an Address…';
export const USE_TOKEN = 'Sign In with a Token…';

export class SignInError extends Error {
  constructor(
    readonly reason: 'no-policy' | 'token-refused',
    message: string,
  ) {
    super(message);
    this.name = 'SignInError';
  }
  static is(err: unknown): err is SignInError {
    return err instanceof SignInError;
  }
}

// The address travels in the token's claim and in x-tollgate-user upstream: printable ASCII only,
// so neither a header break nor a look-alike character gets in. An address, not every RFC 5322 form.
const LOCAL = /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}$/;
const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/** Why `text` is not an e-mail address Tollgate can name a person by, or undefined when it is one. */
export function addressProblem(text: string): string | undefined {
  const value = text.trim();
  if (value === '') return 'Enter your e-mail address, as your team knows you (for example you@example.com).';
  if (value.length > 254) return 'That is longer than an e-mail address can be (254 characters).';
  const at = value.lastIndexOf('@');
  if (at <= 0 || at === value.length - 1) return 'An e-mail address has a name, an @ and a domain (for example you@example.com).';
  const local = value.slice(0, at);
  const labels = value.slice(at + 1).split('.');
  if (!LOCAL.test(local) || local.startsWith('.') || local.endsWith('.') || local.includes('..')) return 'The part before the @ has characters an e-mail address cannot have.';
  if (labels.length < 2 || !labels.every((l) => LABEL.test(l))) return 'The part after the @ is not a domain (for example example.com).';
  return undefined;
}

/** The address as it is kept: trimmed and lower-cased, as the proxy compares people. */
export function normalizeAddress(text: string): string {
  return text.trim().toLowerCase();
}

/** What the verifier needs besides the token: the bundle in force and this proxy's session key. */
export interface TokenCheck {
  readonly policy: Policy | undefined;
  readonly sessionKey: KeyObject | undefined;
  readonly now: number;
}

/**
 * Verifies a pasted token exactly as the proxy will (the bundle's issuers with their keys, and this
 * proxy's own session key) and returns the person it names; a token the proxy would refuse is
 * refused here, with the proxy's reason, before it is kept.
 */
export async function verifyPastedToken(text: string, check: TokenCheck): Promise<string> {
  const token = text.trim();
  if (!check.policy) throw new SignInError('no-policy', 'No policy is in force yet, so the token cannot be checked; try again once the proxy runs.');
  if (token === '') throw new SignInError('token-refused', 'Paste the token your identity provider gave you (a JWT: three parts separated by dots).');
  const verifier = TokenVerifier.create(check.policy, check.sessionKey ? { publicKey: check.sessionKey } : undefined);
  try {
    const identity = await verifier.verify(token, check.now);
    return identity.user;
  } catch (err) {
    if (!IdentityError.is(err)) throw err;
    const issuers = check.policy.identity.issuers.map((i) => i.issuer);
    const trusted = issuers.length > 0 ? ` The policy in force trusts tokens from ${issuers.join(', ')}.` : ' The policy in force trusts no identity provider: use an address instead.';
    throw new SignInError('token-refused', `The proxy would refuse this token: ${err.message}.${err.reason === 'unknown-issuer' ? trusted : ''}`);
  }
}

/** The notification's text: why it asks, and what happens until it is answered. */
export function signInMessage(state: IdentityState, user: string | undefined): string {
  if (state === 'signed-in' && user) return `Tollgate: signed in as ${user}. Sign in as someone else?`;
  if (state === 'signed-out') return 'Tollgate: you are signed out, so calls from the terminals are refused until you sign in. Sign in with your e-mail address or a token from your identity provider.';
  return 'Tollgate does not know who you are (no tollgate.user setting and no git config user.email), so calls from the terminals are refused until you sign in. Sign in with your e-mail address or a token from your identity provider.';
}

/**
 * The status bar item while nobody is signed in: plain about it, and a click asks again. A proxy
 * that failed says so first (signing in would not help); otherwise undefined: the usual item.
 */
export function signInStatusView(identity: IdentityState, phase: ProxyPhase): StatusView | undefined {
  if (!needsSignIn(identity) || phase === 'failed') return undefined;
  const why = identity === 'signed-out' ? 'You are signed out' : 'Tollgate does not know who you are';
  return {
    text: '$(warning) Tollgate: sign in',
    tooltip: `${why}, so calls from the terminals are refused.\nClick to sign in (or run "${SIGN_IN_COMMAND.title}").`,
    level: 'warning',
  };
}

/** What the editor provides the flow. */
export interface SignInPorts {
  /** A notification with buttons; resolves with the one pressed, or undefined when closed. */
  ask(message: string, ...choices: string[]): PromiseLike<string | undefined>;
  /** An input box; `validate` answers each keystroke with a problem or undefined. */
  askAddress(validate: (value: string) => string | undefined): PromiseLike<string | undefined>;
  /** A password input box; `validate` answers with a problem or undefined. */
  askToken(validate: (value: string) => Promise<string | undefined>): PromiseLike<string | undefined>;
  /** Keeps the address as the person's own setting (user scope) and drops a pasted token. */
  saveAddress(address: string): Promise<void>;
  /** Keeps the token where secrets are kept. */
  saveToken(token: string): Promise<void>;
  verifyToken(token: string): Promise<string>;
  /** Resolves the identity again (mints the session token) and says what it is now. */
  resume(): Promise<IdentityState>;
  /** What the host knows now. */
  state(): IdentityState;
  /** Who is signed in now, if anyone. */
  user(): string | undefined;
  info(message: string): void;
  error(message: string): void;
}

/**
 * The state machine: unknown -> missing (asks once, at once) -> asking -> signed-in, or back to
 * missing when the person closes the question. The status bar and the palette ask again on demand.
 */
export class SignInFlow {
  private current: SignInPhase = 'unknown';
  private askedOnce = false;

  constructor(private readonly ports: SignInPorts) {}

  get phase(): SignInPhase {
    return this.current;
  }

  /** The host resolved the identity (or failed to); the first time it is missing, ask (a person who signed out knows). */
  observe(state: IdentityState): void {
    if (this.current === 'asking') return;
    this.current = state;
    if (state === 'missing' && !this.askedOnce) {
      this.askedOnce = true;
      this.ask().catch((err: unknown) => this.ports.error(`Tollgate: signing in failed: ${(err as Error).message}`));
    }
  }

  /** Asks now (the palette command and the status bar call this too). */
  async ask(): Promise<SignInOutcome> {
    if (this.current === 'asking') return 'already-asking';
    const before = this.current;
    this.current = 'asking';
    let outcome: SignInOutcome = 'dismissed';
    try {
      const choice = await this.ports.ask(signInMessage(before === 'signed-in' || before === 'signed-out' ? before : 'missing', this.ports.user()), USE_ADDRESS, USE_TOKEN);
      if (choice === USE_ADDRESS) {
        const answer = await this.ports.askAddress(addressProblem);
        // The box only closes on a valid value, but a value from elsewhere is checked all the same.
        if (answer === undefined || addressProblem(answer) !== undefined) return outcome;
        await this.ports.saveAddress(normalizeAddress(answer));
      } else if (choice === USE_TOKEN) {
        const answer = await this.ports.askToken(async (value) => {
          try {
            await this.ports.verifyToken(value);
            return undefined;
          } catch (err) {
            if (SignInError.is(err)) return err.message;
            throw err;
          }
        });
        if (answer === undefined) return outcome;
        try {
          await this.ports.verifyToken(answer);
        } catch (err) {
          if (!SignInError.is(err)) throw err;
          this.ports.error(`Tollgate: ${err.message}`);
          return outcome;
        }
        await this.ports.saveToken(answer.trim());
      } else {
        return outcome;
      }
      const after = await this.ports.resume();
      outcome = after === 'signed-in' ? 'signed-in' : 'still-missing';
      if (outcome === 'signed-in') this.ports.info(`Tollgate: signed in as ${this.ports.user() ?? 'you'}. New terminals go through the proxy with your identity.`);
      else this.ports.error('Tollgate: still no identity; see the log ("Tollgate: Show Log").');
      return outcome;
    } finally {
      // Whatever was answered (or not), the host's state is the truth: the setting may have been
      // edited by hand while the question was open.
      this.current = this.ports.state();
    }
  }
}
